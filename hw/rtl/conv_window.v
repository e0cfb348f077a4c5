// Convolution windows from a feature map: stores one H x W map (one pixel of C elements per
// input beat, raster order), then emits for every output position (oy, ox), in raster order,
// the K*K*C elements of its window in (ky, kx, c) order, the order of the weight ROM.
// Taps in the zero padding are emitted as zero elements (the engine skips them in one cycle).
// An element is ELEM_BITS wide: T spikes of one channel, or one 8-bit pixel value.
// The map is held until its last window has left, then the next map is accepted.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module conv_window #(
    parameter integer H = 8,
    parameter integer W = 8,
    parameter integer C = 1,
    parameter integer ELEM_BITS = 4,
    parameter integer K = 3,
    parameter integer STRIDE = 1,
    parameter integer PAD_T = 1,
    parameter integer PAD_L = 1,
    parameter integer OH = 8,
    parameter integer OW = 8
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [C*ELEM_BITS-1:0]    s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output wire                      s_axis_tready,
    output wire [ELEM_BITS-1:0]      m_axis_tdata,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready
);
    localparam integer PIXELS = H * W;
    localparam integer AW = (PIXELS > 1) ? $clog2(PIXELS) : 1;
    localparam integer CW = (C > 1) ? $clog2(C) : 1;
    localparam integer KW = (K > 1) ? $clog2(K) : 1;
    localparam integer OHW = $clog2(OH + 1);
    localparam integer OWW = $clog2(OW + 1);

    reg [C*ELEM_BITS-1:0] map [0:PIXELS-1];
    reg [AW-1:0]  wr_addr;
    reg           emitting;
    reg [OHW-1:0] oy;
    reg [OWW-1:0] ox;
    reg [KW-1:0]  ky, kx;
    reg [CW-1:0]  c;

    assign s_axis_tready = !emitting;
    assign m_axis_tvalid = emitting;

    // input coordinates of the current tap (signed: the padding is negative or past the edge)
    wire signed [31:0] iy = $signed(32'(oy)) * STRIDE + $signed(32'(ky)) - PAD_T;
    wire signed [31:0] ix = $signed(32'(ox)) * STRIDE + $signed(32'(kx)) - PAD_L;
    wire in_map = (iy >= 0) && (iy < H) && (ix >= 0) && (ix < W);
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] rd_addr = in_map ? 32'(iy * W + ix) : 32'd0;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [C*ELEM_BITS-1:0] pixel = map[rd_addr[AW-1:0]];
    assign m_axis_tdata = in_map ? pixel[c*ELEM_BITS +: ELEM_BITS] : {ELEM_BITS{1'b0}};

    wire last_c = (c == CW'(C - 1));
    wire last_kx = (kx == KW'(K - 1));
    wire last_ky = (ky == KW'(K - 1));
    wire last_ox = (ox == OWW'(OW - 1));
    wire last_oy = (oy == OHW'(OH - 1));

    always @(posedge clk) begin
        if (s_axis_tvalid && s_axis_tready) begin
            map[wr_addr] <= s_axis_tdata;
            if (wr_addr == AW'(PIXELS - 1)) begin
                wr_addr <= {AW{1'b0}};
                emitting <= 1'b1;
            end else begin
                wr_addr <= wr_addr + 1'b1;
            end
        end
        if (m_axis_tvalid && m_axis_tready) begin
            c <= last_c ? {CW{1'b0}} : c + 1'b1;
            if (last_c) begin
                kx <= last_kx ? {KW{1'b0}} : kx + 1'b1;
                if (last_kx) begin
                    ky <= last_ky ? {KW{1'b0}} : ky + 1'b1;
                    if (last_ky) begin
                        ox <= last_ox ? {OWW{1'b0}} : ox + 1'b1;
                        if (last_ox) begin
                            oy <= last_oy ? {OHW{1'b0}} : oy + 1'b1;
                            if (last_oy) emitting <= 1'b0;
                        end
                    end
                end
            end
        end
        if (rst) begin
            wr_addr <= {AW{1'b0}};
            emitting <= 1'b0;
            oy <= {OHW{1'b0}};
            ox <= {OWW{1'b0}};
            ky <= {KW{1'b0}};
            kx <= {KW{1'b0}};
            c <= {CW{1'b0}};
        end
    end
endmodule

`resetall
