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
    input  wire [WIDTH-1:0]  s_axis_tdata,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    output wire [WIDTH-1:0]  m_axis_tdata,
    output wire              m_axis_tvalid,
    input  wire              m_axis_tready
);
    localparam integer TW = (T > 1) ? $clog2(T) : 1;
    localparam [TW-1:0] LAST = TW'(T - 1);

    reg [WIDTH-1:0] held;
    reg             full;
    reg [TW-1:0]    step;

    assign s_axis_tready = !full;
    assign m_axis_tvalid = full;
    assign m_axis_tdata = held;

    always @(posedge clk) begin
        if (s_axis_tvalid && s_axis_tready) begin
            held <= s_axis_tdata;
            full <= 1'b1;
            step <= {TW{1'b0}};
        end else if (m_axis_tvalid && m_axis_tready) begin
            step <= step + 1'b1;
            if (step == LAST) full <= 1'b0;
        end
        if (rst) full <= 1'b0;
    end
endmodule

`resetall
