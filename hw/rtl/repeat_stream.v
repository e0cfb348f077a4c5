// Direct encoding in hardware: the first layer's current is computed once per image and
// presented T times, once per time step (one output beat per step).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module repeat_stream #(
    parameter integer WIDTH = 8,
    parameter integer T = 4
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [WIDTH-1:0]  s_data,
    input  wire              s_valid,
    output wire              s_ready,
    output wire [WIDTH-1:0]  m_data,
    output wire              m_valid,
    input  wire              m_ready
);
    localparam integer TW = (T > 1) ? $clog2(T) : 1;
    localparam [TW-1:0] LAST = TW'(T - 1);

    reg [WIDTH-1:0] held;
    reg             full;
    reg [TW-1:0]    step;

    assign s_ready = !full;
    assign m_valid = full;
    assign m_data = held;

    always @(posedge clk) begin
        if (s_valid && s_ready) begin
            held <= s_data;
            full <= 1'b1;
            step <= {TW{1'b0}};
        end else if (m_valid && m_ready) begin
            step <= step + 1'b1;
            if (step == LAST) full <= 1'b0;
        end
        if (rst) full <= 1'b0;
    end
endmodule

`resetall
