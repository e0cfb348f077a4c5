// 2x2 pooling, streaming: pixels of N values of IN_BITS (C channels x T steps) in raster order
// over an H x W map, pooled pixels out in raster order over H/2 x W/2, value i at bits
// [i*IN_BITS] in and [i*OB] out (the next layer's elements keep their order).
//   SUM = 0: max-pooling of spikes (IN_BITS = 1): the OR of the block, OB = 1
//   SUM = 1: sum pooling (Sinabs' SumPool2d) of spikes or counts: the block's sum, OB = IN_BITS + 2
// A line buffer of W/2 entries holds the even row's pair results; a pooled pixel is out the
// cycle after its block's last pixel is taken.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module pool2 #(
    parameter integer H = 4,
    parameter integer W = 4,
    parameter integer N = 4,
    parameter integer IN_BITS = 1,
    parameter integer SUM = 0
) (
    input  wire                        clk,
    input  wire                        rst,
    input  wire [N*IN_BITS-1:0]        s_axis_tdata,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,
    output reg  [N*(IN_BITS+2*SUM)-1:0] m_axis_tdata,
    output reg                         m_axis_tvalid,
    input  wire                        m_axis_tready
);
    localparam integer PB = IN_BITS + SUM;        // a pair's result
    localparam integer OB = IN_BITS + 2 * SUM;    // a block's
    localparam integer XW = $clog2(W + 1);
    localparam integer YW = $clog2(H + 1);
    localparam integer LW = (W > 2) ? $clog2(W / 2) : 1;

    reg [N*PB-1:0]      line [0:W/2-1];
    reg [N*IN_BITS-1:0] left;      // the even column of the current pair
    reg [XW-1:0]        x;
    reg [YW-1:0]        y;

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
    wire take = s_axis_tvalid && s_axis_tready;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [XW-1:0] half = x >> 1;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [LW-1:0] slot = half[LW-1:0];
    wire [N*PB-1:0] above = line[slot];
    wire [N*PB-1:0] pair;
    wire [N*OB-1:0] block;
    genvar i;
    generate
        for (i = 0; i < N; i = i + 1) begin : g_value
            if (SUM != 0) begin : g_sum
                assign pair[i*PB +: PB] = PB'(left[i*IN_BITS +: IN_BITS]) + PB'(s_axis_tdata[i*IN_BITS +: IN_BITS]);
                assign block[i*OB +: OB] = OB'(above[i*PB +: PB]) + OB'(pair[i*PB +: PB]);
            end else begin : g_or
                assign pair[i*PB +: PB] = left[i*IN_BITS +: IN_BITS] | s_axis_tdata[i*IN_BITS +: IN_BITS];
                assign block[i*OB +: OB] = above[i*PB +: PB] | pair[i*PB +: PB];
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (take) begin
            if (!x[0]) begin
                left <= s_axis_tdata;
            end else if (!y[0]) begin
                line[slot] <= pair;
            end else begin
                m_axis_tdata <= block;
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
