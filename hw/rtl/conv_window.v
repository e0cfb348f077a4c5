// Convolution windows from a feature map, as an element stream for an accumulate engine.
// Takes H x W maps back to back (one pixel of C elements per input beat, raster order) into a
// line buffer of ROWS rows (a ring: row a of the stream in slot a mod ROWS), and walks every
// output position (oy, ox) of each map in raster order and its K*K taps in (ky, kx) order; of each
// tap's pixel it sends elements {last, index, element}, index = (ky*K + kx)*C + c being the
// element's row in the engine's weight ROM and last marking the final element of the window.
// SKIP_ZEROS = 1 (event mode): only the non-zero elements of a tap (and the window's final
// element, which carries last) are sent. SKIP_ZEROS = 0: every element, padding taps as zeros.
// An element is ELEM_BITS wide: T spikes of one channel, or one 8-bit pixel value.
//
// Two stages, each ending in registers, so that no path runs from a window's coordinates to
// an element: the walker and an element_serializer.
//  - The walker takes a window once the rows it reads are in (the map streams in while the
//    first windows go out, so this layer overlaps the one before it): in one cycle it
//    registers the window's live taps (event mode: taps on the map whose pixel has a non-zero
//    element, from a flag per stored pixel; the last tap always, it carries last; dense mode:
//    every tap) and their pixel addresses, both computed ahead while the window before was
//    walked. It then hands one live tap's pixel per cycle towards the
//    serializer as a vector {last tap, (ky*K + kx)*C, pixel}, through two registers (the map's
//    read, then the serializer's input): silent taps cost nothing. It takes the next window
//    in the cycle it hands on the current one's last tap.
//  - The serializer sends the vector's elements, one per cycle (element_serializer).
// The line buffer takes a row once the row ROWS before it is no longer needed: the walker has
// handed on the last tap of the last window reading it (ROWS >= K; ROWS >= K + STRIDE lets
// the next rows come in while a row of windows is walked). So the next map's rows come in
// while the last windows of the map before are walked.
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
    parameter integer ROWS = H,          // rows held: at least K (clipped to H)
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
    localparam integer SLOTS = ROWS * W;      // pixels held
    localparam integer TAPS = K * K;
    localparam integer AW = (SLOTS > 1) ? $clog2(SLOTS) : 1;
    localparam integer OHW = $clog2(OH + 1);
    localparam integer OWW = $clog2(OW + 1);
    localparam integer VW = 1 + INDEX_BITS + C * ELEM_BITS;   // a vector for the serializer

    // The line buffer, and past its pixels a word that stays zero, which a tap in the padding
    // reads (so the read needs no mask after the RAM). No read-during-write logic: a pixel is
    // read two or more cycles after it was written (a window is taken a cycle after its rows
    // are in, its taps handed on after that), and a slot is written again only from the cycle
    // after the last tap reading its row was handed on. In block RAM whatever its size: the
    // read's address then ends in the RAM's own register (a small ring in distributed RAM is
    // read asynchronously, so the tap's address multiplexer, the RAM and the multiplexer among
    // its parts made one path into vec_data: 11.0 ns, conv0's window alone at 90.6 MHz).
    localparam integer RW = $clog2(SLOTS + 1);
    localparam [RW-1:0] ZERO_WORD = RW'(SLOTS);
    (* no_rw_check, ram_style = "block" *)
    reg [C*ELEM_BITS-1:0] map [0:SLOTS];
    initial map[SLOTS] = '0;
    reg [AW-1:0]  wr_addr;      // the slot being written: row wr_row's slot, column wr_col

    // Rows are counted over the stream of maps (BW bits, modulo: only differences of at most
    // H + ROWS + K rows are compared): the row being written (the rows complete before it)
    localparam integer BW = $clog2(H + ROWS + K + STRIDE + 1) + 2;
    reg  [BW-1:0] wr_row;
    // the rows the writer is ahead of the first row still needed (the top row of the window
    // after the last one handed on): fewer than ROWS, or negative when the walker has moved on
    // past rows no window reads (a valid conv's last rows) not yet in. Kept by additions, as
    // is next_ahead (the same to the next window's top row: what ahead becomes when the window
    // being walked is through), so the ready is a comparison with a constant (a subtraction
    // before it was the longest path of conv0's window alone once its map was in block RAM:
    // 9.3 ns, through the write enables). The ready itself is a register (room): the
    // comparison is made for each value ahead may take next, from registers, and the one taken
    // chosen by the late selects (the comparison's carry chain in front of the write enables,
    // which reach the map and every tap's flags, was the fast end's critical path: 10.4 ns)
    reg  [BW-1:0] ahead;
    reg  [BW-1:0] next_ahead;
    reg           room;         // ahead < ROWS, or negative
    function automatic has_room(input [BW-1:0] rows_ahead);
        has_room = rows_ahead[BW-1] || rows_ahead < BW'(ROWS);
    endfunction
    // ... of rows_ahead + 1, without the addition's chain before the comparison's (the values
    // stay far from the top of BW bits: + 1 never turns one negative)
    /* verilator lint_off UNSIGNED */     // (ROWS = 1: only a negative value has room)
    function automatic has_room_1(input [BW-1:0] rows_ahead);
        has_room_1 = rows_ahead[BW-1] || rows_ahead < BW'(ROWS - 1);
    endfunction
    /* verilator lint_on UNSIGNED */
    assign s_axis_tready = room;

    // Two windows ahead of the walker, both in registers, so that taking a window is a
    // register-to-register step: the window after the next one by its position, its
    // top-left corner in map coordinates (negative in the padding; YW/XW-bit signed, enough for
    // the padding either side) and its rows' slots, and the next window by its taps' pixel
    // addresses, which of them are on the map, its top row and the rows it needs
    localparam integer YW = $clog2(H + K + STRIDE + 1) + 1;
    localparam integer XW = $clog2(W + K + STRIDE + 1) + 1;
    // the first window's corner, in the padding: the cast of the negative number, not a minus
    // before the cast of PAD_T, which Yosys 0.23 reads as +PAD_T (it drops a unary minus
    // before a size cast; the gate-level check found it: the synthesized windows began at
    // (+1, +1) while the RTL's began at (-1, -1))
    localparam signed [YW-1:0] Y_START = YW'(-PAD_T);
    localparam signed [XW-1:0] X_START = XW'(-PAD_L);
    localparam signed [YW-1:0] ROWS_AFTER_START = YW'(K - PAD_T);
    // the rows from one window row's top to the next (STRIDE), and from a map's last window
    // row to the next map's first (H - (OH-1)*STRIDE), as slot steps modulo ROWS
    localparam integer ROW_STEP = STRIDE % ROWS;
    localparam integer MAP_STEP = (H - (OH - 1) * STRIDE) % ROWS;
    reg [OHW-1:0]       oy;
    reg [OWW-1:0]       ox;
    reg signed [YW-1:0] y0;
    reg signed [XW-1:0] x0;
    reg [BW-1:0]        map_row0;      // the stream row of the map's row 0
    reg                 primed;        // the next window's registers hold it
    reg [TAPS-1:0]      next_on_map;
    reg [RW-1:0]        next_addr [0:TAPS-1];
    reg [BW-1:0]        next_rows_needed;   // the stream rows complete before it can be taken
    reg [XW-1-1:0]      wr_col;

    // the slot address of row y0 + ky of the window after the next (ky = 0 .. K-1), each
    // kept by additions modulo SLOTS (no multiplier, no modulo)
    reg [AW-1:0] row_base [0:K-1];
    function automatic [AW-1:0] slot_step(input [AW-1:0] base, input integer rows);
        reg [AW:0] sum;
        begin
            sum = {1'b0, base} + (AW+1)'(rows * W);
            slot_step = (sum >= (AW+1)'(SLOTS)) ? AW'(sum - (AW+1)'(SLOTS)) : AW'(sum);
        end
    endfunction

    // Whether row y0 + d (column x0 + d) is on the map, for every value of the corner: a
    // constant table the corner indexes (a few LUTs; comparisons with constants became carry
    // chains in synth_ecp5, the longest path of conv1's window alone: 8.9 ns)
    localparam integer CW = (YW > XW) ? YW : XW;
    function automatic [(1 << CW)-1:0] on_map_table(input integer d, input integer size, input integer bits);
        integer v, signed_v;
        begin
            on_map_table = {(1 << CW){1'b0}};
            for (v = 0; v < (1 << bits); v = v + 1) begin
                signed_v = (v >= (1 << (bits - 1))) ? v - (1 << bits) : v;
                on_map_table[v] = (signed_v + d >= 0) && (signed_v + d < size);
            end
        end
    endfunction
    // per tap j = ky*K + kx (constants) of the window after the next: on the map or in the
    // padding (its row's and column's tables, no adder), its pixel address (its row's slot
    // plus the column; off the map the walked window reads the zero word instead)
    wire [TAPS-1:0] on_map, live;
    wire [AW-1:0]   tap_addr [0:TAPS-1];
    genvar gj;
    generate
        for (gj = 0; gj < TAPS; gj = gj + 1) begin : g_tap
            localparam [(1 << CW)-1:0] ROW_ON = on_map_table(gj / K, H, YW);
            localparam [(1 << CW)-1:0] COL_ON = on_map_table(gj % K, W, XW);
            wire [(1 << YW)-1:0] row_on = ROW_ON[(1 << YW)-1:0];
            wire [(1 << XW)-1:0] col_on = COL_ON[(1 << XW)-1:0];
            assign on_map[gj] = row_on[$unsigned(y0)] && col_on[$unsigned(x0)];
            /* verilator lint_off UNUSEDSIGNAL */
            wire signed [AW+1:0] addr = $signed({2'b00, row_base[gj / K]}) + (AW+2)'(x0) + (AW+2)'(gj % K);
            /* verilator lint_on UNUSEDSIGNAL */
            assign tap_addr[gj] = addr[AW-1:0];
        end
        // the next window's taps with anything to send: event mode, those on the map whose
        // pixel has a non-zero element (a flag per stored pixel, one copy per tap so that all
        // taps read theirs at once: small distributed RAMs instead of a wide multiplexer), and
        // the last tap always (it carries last); dense mode, every tap
        if (SKIP_ZEROS != 0) begin : g_flags
            for (gj = 0; gj < TAPS; gj = gj + 1) begin : g_live
                (* no_rw_check *)     // as the map: read two or more cycles after the write
                reg nonzero_pixel [0:SLOTS];
                initial nonzero_pixel[SLOTS] = 1'b0;
                always @(posedge clk)
                    if (s_axis_tvalid && s_axis_tready)
                        nonzero_pixel[RW'(wr_addr)] <= |s_axis_tdata;
                assign live[gj] = (gj == TAPS - 1) || (next_on_map[gj] && nonzero_pixel[next_addr[gj]]);
            end
        end else begin : g_all
            assign live = {TAPS{1'b1}};
        end
    endgenerate

    // the next window's rows are in: the stream row after its bottom row (clipped to the map)
    // has begun. Registered (the comparisons are carry chains, which taking a window must not
    // wait for): rows_in_q holds it for the window that is next in this cycle, from the rows
    // written a cycle before (rows only come in, so that is never too early), computed for both
    // candidates, the next window and the one after it, and chosen by whether the walker
    // advances; rows_in_q2 is it a cycle later, to go with live_q
    reg  signed [YW-1:0] rows_after;     // y0 + K: the rows the window after the next one needs
    // ... as stream rows, clipped to the map (map_row0 + min(y0 + K, H)), and its top row
    // clipped to the map (max(y0, 0)): registers kept by additions as the window moves, so
    // that no chain of adders lies between the window's position and the checks
    reg  [BW-1:0]        after_rows_needed;
    reg  [YW-2:0]        top_clipped;
    wire [BW-1:0] after_top = map_row0 + BW'(top_clipped);
    localparam integer ROWS_START = (K - PAD_T < H) ? K - PAD_T : H;
    localparam signed [YW-1:0] ROWS_CLIP = YW'(H - STRIDE);    // rows_after above: clipped next
    localparam signed [YW-1:0] Y_TOP_MIN = YW'(-STRIDE);       // y0 at least: y0 + STRIDE >= 0
    wire [BW-1:0] next_short = next_rows_needed - wr_row;    // rows still to come (none: 0 or negative)
    wire [BW-1:0] after_short = after_rows_needed - wr_row;
    wire rows_in_next = next_short == {BW{1'b0}} || next_short[BW-1];
    wire rows_in_after = after_short == {BW{1'b0}} || after_short[BW-1];
    reg  rows_in_q, rows_in_q2;
    wire last_ox = (ox == OWW'(OW - 1));
    wire last_oy = (oy == OHW'(OH - 1));

    // the window being walked: its live taps not yet handed on, their addresses
    reg [TAPS-1:0] pending;
    reg [RW-1:0]   pending_addr [0:TAPS-1];
    reg  [TAPS-1:0] first;             // the lowest pending tap alone, found a tap ahead
    // a prefix OR, which synthesis balances into a few LUT levels (m & (-m) would be a carry
    // chain, and the flags reach it from a block RAM's output)
    function automatic [TAPS-1:0] lowest_tap(input [TAPS-1:0] m);
        reg below;
        integer t;
        begin
            below = 1'b0;
            for (t = 0; t < TAPS; t = t + 1) begin
                lowest_tap[t] = m[t] && !below;
                below = below || m[t];
            end
        end
    endfunction

    // Vector registers between the walker and the serializer: vec_data takes the map's read
    // (a block RAM's own output register, where synthesis puts the map), then a two-entry
    // buffer, so the walker moves on by registers alone (the buffer has room), not by the
    // serializer's ready, which comes from the engine: still a vector a cycle. The buffer's
    // entries are written in place and read by a pointer: the RAM's read (its clock-to-out,
    // 5.83 ns on the ECP5 -6, is most of a cycle) ends in the entries' registers with no
    // multiplexer in front (a head register refilled from a skid register or the read was the
    // default's critical path, 9.0 ns); the choice of the older entry is on the serializer's
    // side, from registers.
    reg  [VW-1:0] vec_data;
    reg           vec_valid;
    reg  [VW-1:0] vec_buf0, vec_buf1;    // two registers (as a memory they could become LUT RAM)
    reg           vec_wr, vec_rd;    // the entry written next, the older entry
    reg           vec_any, vec_full; // the buffer holds one entry or more, two
    wire          vec_ready;         // the serializer takes the older entry
    wire vec_move = vec_valid && !vec_full;
    // the last tap is always live and goes last, so it is pending exactly while any tap is:
    // its flag stands for pending != 0 (a wide OR that sat on the path into take_window's
    // loads); and it is the lowest one left (first) exactly when it is the only one left.
    // take_window keeps pending == 0, the same value beside the other terms, which
    // synth_xilinx maps in 150 fewer LUTs over the small end's two windows (Yosys 0.23)
    wire vec_room = !vec_valid || !vec_full;           // vec_data is free or moves on in this cycle
    wire hand_on = pending[TAPS-1] && vec_room;
    wire last_tap_out = first[TAPS-1] && vec_room;     // the last tap goes last: the window is through
    // The next window's live taps, registered after the flag memories (block RAMs on a large
    // map, whose output must not feed the search for the lowest tap): live_q is live of the
    // cycle before, which holds the next window's flags when the walker did not advance then
    // (live_fresh) and its rows were in two cycles before (rows_in_q2; with the flags read two
    // cycles or more after they were written). So a window is taken two cycles after its rows
    // are in at the earliest, and two cycles after the window before.
    reg  [TAPS-1:0] live_q;
    reg             live_fresh;
    wire take_window = ((pending == {TAPS{1'b0}}) || last_tap_out) && primed && rows_in_q2 && live_fresh;
    wire advance = take_window || !primed;     // the two windows ahead move up

    // the lowest pending tap's vector: {last tap, its first element's index, its pixel}
    reg [INDEX_BITS-1:0]  tap_base;
    reg [RW-1:0]          tap_addr_q;
    integer i;
    always @* begin
        tap_base = {INDEX_BITS{1'b0}};
        tap_addr_q = {RW{1'b0}};
        for (i = 0; i < TAPS; i = i + 1)
            if (first[i]) begin
                tap_base = INDEX_BITS'(i * C);
                tap_addr_q = pending_addr[i];
            end
    end
    wire [C*ELEM_BITS-1:0] tap_pixel = map[tap_addr_q];

    wire write = s_axis_tvalid && s_axis_tready;
    wire row_end = wr_col == (XW-1)'(W - 1);
    wire row_in = write && row_end;     // a row complete in this cycle
    // the sums from registers alone, chosen by the late selects (a walker's step, a row in)
    wire [BW-1:0] after_ahead = wr_row - after_top;
    wire [BW-1:0] after_ahead_1 = after_ahead + 1'b1;
    wire [BW-1:0] next_ahead_1 = next_ahead + 1'b1;
    wire [BW-1:0] ahead_1 = ahead + 1'b1;

    always @(posedge clk) begin
        if (write) begin
            map[RW'(wr_addr)] <= s_axis_tdata;
            wr_addr <= (wr_addr == AW'(SLOTS - 1)) ? {AW{1'b0}} : wr_addr + 1'b1;
            wr_col <= row_end ? {(XW-1){1'b0}} : wr_col + 1'b1;
            if (row_end) wr_row <= wr_row + 1'b1;
        end
        // the rows before the next window's top are free once the current one is through
        // (the walker's step and a row's completion choose among sums made without them: both
        // come late in the cycle, and into an addition they ran through its chain)
        if (last_tap_out) ahead <= row_in ? next_ahead_1 : next_ahead;
        else ahead <= row_in ? ahead_1 : ahead;
        if (last_tap_out) room <= row_in ? has_room_1(next_ahead) : has_room(next_ahead);
        else room <= row_in ? has_room_1(ahead) : has_room(ahead);
        if (advance) next_ahead <= row_in ? after_ahead_1 : after_ahead;
        else next_ahead <= row_in ? next_ahead_1 : next_ahead;
        rows_in_q <= advance ? rows_in_after : rows_in_next;
        rows_in_q2 <= rows_in_q;
        live_q <= live;
        live_fresh <= !advance;

        // the buffer: vec_data into the free entry, the older entry out when the serializer
        // takes it (the fill flags from registers and the ready alone, no pointer choice)
        if (!vec_any || vec_ready) begin
            vec_any <= vec_full || vec_move;
            vec_full <= 1'b0;
        end else if (vec_move) begin
            vec_full <= 1'b1;
        end
        if (vec_any && vec_ready) vec_rd <= !vec_rd;
        if (vec_move) begin
            if (vec_wr) vec_buf1 <= vec_data;
            else vec_buf0 <= vec_data;
            vec_wr <= !vec_wr;
            vec_valid <= 1'b0;
        end
        if (hand_on) begin
            vec_data <= {first[TAPS-1], tap_base, tap_pixel};
            vec_valid <= 1'b1;
            pending <= pending & ~first;
            first <= lowest_tap(pending & ~first);
        end
        if (take_window) begin
            pending <= live_q;
            first <= lowest_tap(live_q);
            for (i = 0; i < TAPS; i = i + 1) pending_addr[i] <= next_on_map[i] ? next_addr[i] : ZERO_WORD;
        end
        if (advance) begin
            primed <= 1'b1;
            next_on_map <= on_map;
            for (i = 0; i < TAPS; i = i + 1) next_addr[i] <= RW'(tap_addr[i]);
            next_rows_needed <= after_rows_needed;
            ox <= last_ox ? {OWW{1'b0}} : ox + 1'b1;
            x0 <= last_ox ? X_START : x0 + XW'(STRIDE);
            if (last_ox) begin
                oy <= last_oy ? {OHW{1'b0}} : oy + 1'b1;
                y0 <= last_oy ? Y_START : y0 + YW'(STRIDE);
                rows_after <= last_oy ? ROWS_AFTER_START : rows_after + YW'(STRIDE);
                if (last_oy) map_row0 <= map_row0 + BW'(H);
                if (last_oy) after_rows_needed <= map_row0 + BW'(H + ROWS_START);
                else if (rows_after > ROWS_CLIP) after_rows_needed <= map_row0 + BW'(H);
                else after_rows_needed <= after_rows_needed + BW'(STRIDE);
                if (last_oy || y0 < Y_TOP_MIN) top_clipped <= {(YW-1){1'b0}};
                else top_clipped <= (YW-1)'(y0 + YW'(STRIDE));
                for (i = 0; i < K; i = i + 1)
                    row_base[i] <= slot_step(row_base[i], last_oy ? MAP_STEP : ROW_STEP);
            end
        end
        if (rst) begin
            wr_addr <= {AW{1'b0}};
            wr_row <= {BW{1'b0}};
            ahead <= {BW{1'b0}};
            room <= 1'b1;
            next_ahead <= {BW{1'b0}};
            map_row0 <= {BW{1'b0}};
            after_rows_needed <= BW'(ROWS_START);
            top_clipped <= {(YW-1){1'b0}};
            oy <= {OHW{1'b0}};
            ox <= {OWW{1'b0}};
            y0 <= Y_START;
            rows_after <= ROWS_AFTER_START;
            for (i = 0; i < K; i = i + 1) row_base[i] <= AW'((((ROWS - PAD_T % ROWS) + i) % ROWS) * W);
            wr_col <= {(XW-1){1'b0}};
            x0 <= X_START;
            pending <= {TAPS{1'b0}};
            first <= {TAPS{1'b0}};
            rows_in_q <= 1'b0;
            rows_in_q2 <= 1'b0;
            live_fresh <= 1'b0;
            primed <= 1'b0;
            vec_valid <= 1'b0;
            vec_any <= 1'b0;
            vec_full <= 1'b0;
            vec_wr <= 1'b0;
            vec_rd <= 1'b0;
        end
    end

    element_serializer #(.N(C), .ELEM_BITS(ELEM_BITS), .SKIP_ZEROS(SKIP_ZEROS), .INDEX_BITS(INDEX_BITS)) u_serial (
        .clk(clk), .rst(rst),
        .s_axis_tdata(vec_rd ? vec_buf1 : vec_buf0), .s_axis_tvalid(vec_any), .s_axis_tready(vec_ready),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready));
endmodule

`resetall
