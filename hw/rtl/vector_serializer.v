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
    input  wire [N*ELEM_BITS-1:0]   s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    output wire [ELEM_BITS-1:0]     m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);
    localparam integer IW = (N > 1) ? $clog2(N) : 1;
    localparam [IW-1:0] LAST = IW'(N - 1);

    reg [N*ELEM_BITS-1:0] vec;
    reg                   full;
    reg [IW-1:0]          idx;

    wire last_out = m_axis_tvalid && m_axis_tready && idx == LAST;
    // the next vector is taken in the cycle the last element leaves: no bubble between beats
    assign s_axis_tready = !full || last_out;
    assign m_axis_tvalid = full;
    assign m_axis_tdata = vec[ELEM_BITS-1:0];

    always @(posedge clk) begin
        if (m_axis_tvalid && m_axis_tready) begin
            vec <= vec >> ELEM_BITS;
            idx <= idx + 1'b1;
            if (idx == LAST) full <= 1'b0;
        end
        if (s_axis_tvalid && s_axis_tready) begin
            vec <= s_axis_tdata;
            full <= 1'b1;
            idx <= {IW{1'b0}};
        end
        if (rst) full <= 1'b0;
    end
endmodule

`resetall
