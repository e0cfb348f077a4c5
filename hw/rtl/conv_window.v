// Convolution windows from a feature map, as an element stream for an accumulate engine.
// Stores one H x W map (one pixel of C elements per input beat, raster order), then walks
// every output position (oy, ox) in raster order and its K*K taps in (ky, kx) order; of each
// tap's pixel it sends elements {last, index, element}, index = (ky*K + kx)*C + c being the
// element's row in the engine's weight ROM and last marking the final element of the window.
// SKIP_ZEROS = 1 (event mode): only the non-zero elements of a tap (and the window's final
// element, which carries last) are sent. A flag per stored pixel (any element non-zero) lets
// the window see which of its K*K taps have anything to send: a run of silent taps (or taps
// in the zero padding) costs one cycle, a jump to the next live tap. SKIP_ZEROS = 0: every
// element, padding taps as zeros.
// An element is ELEM_BITS wide: T spikes of one channel, or one 8-bit pixel value.
// A window starts as soon as the rows it reads are in (the map streams in while the first
// windows go out, so this layer overlaps the one before it). The next map is accepted once
// the current one is complete and its last window has left.
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
    parameter integer OW = 8,
    parameter integer SKIP_ZEROS = 1,
    parameter integer INDEX_BITS = ($clog2(K * K * C) > 0) ? $clog2(K * K * C) : 1
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [C*ELEM_BITS-1:0]    s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output wire                      s_axis_tready,
    output wire [1+INDEX_BITS+ELEM_BITS-1:0] m_axis_tdata,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready
);
    localparam integer PIXELS = H * W;
    localparam integer TAPS = K * K;
    localparam integer AW = (PIXELS > 1) ? $clog2(PIXELS) : 1;
    localparam integer CW = (C > 1) ? $clog2(C) : 1;
    localparam integer TW = (TAPS > 1) ? $clog2(TAPS) : 1;
    localparam integer OHW = $clog2(OH + 1);
    localparam integer OWW = $clog2(OW + 1);
    localparam [TW-1:0] LAST_TAP = TW'(TAPS - 1);

    reg [C*ELEM_BITS-1:0] map [0:PIXELS-1];
    reg [AW-1:0]  wr_addr;      // pixels of the current map written so far
    reg           map_full;     // the current map is complete
    reg           windows_done; // the current map's last window has left
    reg [OHW-1:0] oy;
    reg [OWW-1:0] ox;
    reg [TW-1:0]  tap;          // ky * K + kx
    reg [CW-1:0]  c;

    assign s_axis_tready = !map_full;

    // the window's top-left corner in map coordinates (negative in the padding), kept as the
    // windows advance; coordinates are YW/XW-bit signed, enough for the padding either side
    localparam integer YW = $clog2(H + K + STRIDE + 1) + 1;
    localparam integer XW = $clog2(W + K + STRIDE + 1) + 1;
    localparam integer PW = AW + 2;          // signed pixel addresses of a window's taps
    reg signed [YW-1:0] y0;
    reg signed [XW-1:0] x0;
    reg signed [PW-1:0] row_base;      // y0 * W, kept by additions (no multiplier)
    reg [YW-2:0]        rows_written;  // complete rows of the current map
    reg [XW-2:0]        wr_col;

    // per tap j = ky*K + kx (constants): on the map or in the padding, its pixel address,
    // and (event mode) whether it has anything to send: the last tap always has (it carries last)
    wire [TAPS-1:0] on_map, live;
    wire [AW-1:0]   tap_addr [0:TAPS-1];
    genvar gj;
    generate
        if (SKIP_ZEROS != 0) begin : g_flags
            // a flag per stored pixel (any element non-zero), one copy per tap so that all
            // taps read theirs at once: small distributed RAMs instead of a wide multiplexer
            for (gj = 0; gj < TAPS; gj = gj + 1) begin : g_live
                reg nonzero_pixel [0:PIXELS-1];
                always @(posedge clk)
                    if (s_axis_tvalid && s_axis_tready)
                        nonzero_pixel[wr_addr] <= |s_axis_tdata;
                assign live[gj] = (gj == TAPS - 1) || (on_map[gj] && nonzero_pixel[tap_addr[gj]]);
            end
        end else begin : g_all
            assign live = {TAPS{1'b1}};
        end
        for (gj = 0; gj < TAPS; gj = gj + 1) begin : g_tap
            wire signed [YW-1:0] y = y0 + YW'(gj / K);
            wire signed [XW-1:0] x = x0 + XW'(gj % K);
            assign on_map[gj] = (y >= 0) && (y < YW'(H)) && (x >= 0) && (x < XW'(W));
            /* verilator lint_off UNUSEDSIGNAL */
            wire signed [PW-1:0] addr = row_base + PW'(x) + PW'((gj / K) * W);
            /* verilator lint_on UNUSEDSIGNAL */
            assign tap_addr[gj] = on_map[gj] ? addr[AW-1:0] : {AW{1'b0}};
        end
    endgenerate

    wire in_map = on_map[tap];
    wire [C*ELEM_BITS-1:0] pixel = in_map ? map[tap_addr[tap]] : {(C*ELEM_BITS){1'b0}};

    // the next live tap after the current one (the last tap always is)
    wire [TAPS-1:0] live_after = live & ({TAPS{1'b1}} << (32'(tap) + 1));
    wire [TAPS-1:0] next_live = live_after & (~live_after + 1'b1);
    reg  [TW-1:0]   jump;
    integer i;
    always @* begin
        jump = LAST_TAP;
        for (i = TAPS - 1; i >= 0; i = i - 1)
            if (next_live[i]) jump = TW'(i);
    end

    // the window's rows are in: its bottom row (clipped to the map) has been written
    wire signed [YW-1:0] rows_needed = y0 + YW'(K);
    wire rows_in = map_full || (rows_needed < YW'(H) && rows_needed <= $signed({1'b0, rows_written}));
    wire emitting = !windows_done && rows_in;

    wire last_tap = (tap == LAST_TAP);
    wire last_ox = (ox == OWW'(OW - 1));
    wire last_oy = (oy == OHW'(OH - 1));

    wire          found, more;
    wire [CW-1:0] pos;
    element_picker #(.N(C), .ELEM_BITS(ELEM_BITS), .SKIP_ZEROS(SKIP_ZEROS), .IW(CW)) u_pick (
        .vec(pixel), .from(c), .force_last(last_tap), .found(found), .pos(pos), .more(more));

    assign m_axis_tvalid = emitting && found;
    wire send = m_axis_tvalid && m_axis_tready;
    /* verilator lint_off WIDTHEXPAND */
    wire [INDEX_BITS-1:0] index = INDEX_BITS'(tap * C + pos);
    /* verilator lint_on WIDTHEXPAND */
    assign m_axis_tdata = {last_tap && pos == CW'(C - 1), index, pixel[pos*ELEM_BITS +: ELEM_BITS]};

    wire write = s_axis_tvalid && s_axis_tready;
    wire last_pixel = write && wr_addr == AW'(PIXELS - 1);
    wire last_window = send && !more && last_tap && last_ox && last_oy;
    wire full_next = map_full || last_pixel;
    wire done_next = windows_done || last_window;

    always @(posedge clk) begin
        if (write) begin
            map[wr_addr] <= s_axis_tdata;
            wr_addr <= last_pixel ? {AW{1'b0}} : wr_addr + 1'b1;
            wr_col <= (wr_col == (XW-1)'(W - 1)) ? {(XW-1){1'b0}} : wr_col + 1'b1;
            if (last_pixel) rows_written <= {(YW-1){1'b0}};
            else if (wr_col == (XW-1)'(W - 1)) rows_written <= rows_written + 1'b1;
        end
        // both the map and its windows are through: the next map may come in
        map_full <= full_next && !done_next;
        windows_done <= done_next && !full_next;
        if (emitting && !found) begin          // a silent tap: on to the next live one
            tap <= jump;
            c <= {CW{1'b0}};
        end
        if (send) begin
            c <= more ? pos + 1'b1 : {CW{1'b0}};
            if (!more) begin
                tap <= last_tap ? {TW{1'b0}} : tap + 1'b1;
                if (last_tap) begin
                    ox <= last_ox ? {OWW{1'b0}} : ox + 1'b1;
                    x0 <= last_ox ? -XW'(PAD_L) : x0 + XW'(STRIDE);
                    if (last_ox) begin
                        oy <= last_oy ? {OHW{1'b0}} : oy + 1'b1;
                        y0 <= last_oy ? -YW'(PAD_T) : y0 + YW'(STRIDE);
                        row_base <= last_oy ? -PW'(PAD_T * W) : row_base + PW'(STRIDE * W);
                    end
                end
            end
        end
        if (rst) begin
            wr_addr <= {AW{1'b0}};
            map_full <= 1'b0;
            windows_done <= 1'b0;
            oy <= {OHW{1'b0}};
            ox <= {OWW{1'b0}};
            y0 <= -YW'(PAD_T);
            row_base <= -PW'(PAD_T * W);
            rows_written <= {(YW-1){1'b0}};
            wr_col <= {(XW-1){1'b0}};
            x0 <= -XW'(PAD_L);
            tap <= {TW{1'b0}};
            c <= {CW{1'b0}};
        end
    end
endmodule

`resetall
