// 2x2 max-pooling of spikes (an OR), streaming: pixels of BITS (C channels x T steps) in
// raster order over an H x W map, pooled pixels out in raster order over H/2 x W/2.
// A line buffer of W/2 entries holds the OR of the even row's pairs.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module maxpool2 #(
    parameter integer H = 4,
    parameter integer W = 4,
    parameter integer BITS = 4
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [BITS-1:0]  s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    output reg  [BITS-1:0]  m_axis_tdata,
    output reg              m_axis_tvalid,
    input  wire             m_axis_tready
);
    localparam integer XW = $clog2(W + 1);
    localparam integer YW = $clog2(H + 1);
    localparam integer LW = (W > 2) ? $clog2(W / 2) : 1;

    reg [BITS-1:0] line [0:W/2-1];
    reg [BITS-1:0] left;      // the even column of the current pair
    reg [XW-1:0]   x;
    reg [YW-1:0]   y;

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
    wire take = s_axis_tvalid && s_axis_tready;
    wire [BITS-1:0] pair = left | s_axis_tdata;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [XW-1:0] half = x >> 1;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [LW-1:0] slot = half[LW-1:0];

    always @(posedge clk) begin
        if (take) begin
            if (!x[0]) begin
                left <= s_axis_tdata;
            end else if (!y[0]) begin
                line[slot] <= pair;
            end else begin
                m_axis_tdata <= line[slot] | pair;
            end
            x <= (x == XW'(W - 1)) ? {XW{1'b0}} : x + 1'b1;
            if (x == XW'(W - 1)) y <= (y == YW'(H - 1)) ? {YW{1'b0}} : y + 1'b1;
        end
        if (take && x[0] && y[0]) m_axis_tvalid <= 1'b1;
        else if (m_axis_tready) m_axis_tvalid <= 1'b0;
        if (rst) begin
            x <= {XW{1'b0}};
            y <= {YW{1'b0}};
            m_axis_tvalid <= 1'b0;
        end
    end
endmodule

`resetall
