// One beat of N elements (ELEM_BITS each, element 0 in the low bits) in, N beats of one
// element out, element 0 first. Turns a layer's spike vector of one time step into the
// element stream an accumulate engine consumes.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module vector_serializer #(
    parameter integer N = 8,
    parameter integer ELEM_BITS = 1
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire [N*ELEM_BITS-1:0]   s_data,
    input  wire                     s_valid,
    output wire                     s_ready,
    output wire [ELEM_BITS-1:0]     m_data,
    output wire                     m_valid,
    input  wire                     m_ready
);
    localparam integer IW = (N > 1) ? $clog2(N) : 1;
    localparam [IW-1:0] LAST = IW'(N - 1);

    reg [N*ELEM_BITS-1:0] vec;
    reg                   full;
    reg [IW-1:0]          idx;

    assign s_ready = !full;
    assign m_valid = full;
    assign m_data = vec[ELEM_BITS-1:0];

    always @(posedge clk) begin
        if (s_valid && s_ready) begin
            vec <= s_data;
            full <= 1'b1;
            idx <= {IW{1'b0}};
        end else if (m_valid && m_ready) begin
            vec <= vec >> ELEM_BITS;
            idx <= idx + 1'b1;
            if (idx == LAST) full <= 1'b0;
        end
        if (rst) full <= 1'b0;
    end
endmodule

`resetall
