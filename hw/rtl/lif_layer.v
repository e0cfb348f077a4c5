// N leaky integrate-and-fire neurons of one position (a pixel's channels, or a dense layer),
// folded: LANES neurons are updated per cycle, one time step at a time, so the logic is LANES
// neuron updates whatever N and T are (the producing engine's PE by default: the LIF keeps
// pace with what the engine asks for).
// T is the steps of one beat. A long window is streamed as CHUNKS passes of T steps over the
// same POSITIONS beats (codegen/rtl.py): a position's membranes then live in a block RAM
// between passes (M = POSITIONS * GROUPS words of LANES membranes), stored after a group's
// last step and loaded for its first; the first pass of an image starts them at rest. With
// CHUNKS = 1 there is no RAM and a group's membranes go back to rest after its last step.
// Input lane (t, n) at t*N + n, X_STEPS = T, or X_STEPS = 1 for a current that is the same at
// every step (direct encoding). Output bit (n, t) at n*T + t: neuron n's T spikes together,
// the element the next layer consumes. Thresholds per channel: neuron n uses theta[n % C].
//
// A beat is walked in F = ceil(N / LANES) * T update slots, slot i = g*T + t: neurons
// g*LANES .. g*LANES + LANES-1 at step t. The beat stays in the producer's output register
// while it is walked (AXI-Stream holds tdata while tvalid): the LIF reads its lanes there and
// takes it (tready) in its last slot, so no copy of the currents is kept here. Three register
// stages per slot, each one adder or one multiplexer deep (four with a wide pick):
//   (Q: with more than 16 currents to pick from, the 4 currents of the slot's quad, by the
//      index's high bits: stage A then picks among those 4, and everything after is a cycle
//      later)
//   A: the slot's LANES currents picked from the beat (a multiplexer over the slots, or over
//      the groups when the current is the same at every step)
//   B: x - theta (lif_unit's second adder takes it: the spike comes from beside the membrane's
//      adder, not after it)
//   C: the update, lif_unit: the membrane of each lane in a register, the spikes shifted
//      into the beat being assembled. A lane's membrane register is cleared (the flip-flops'
//      own synchronous reset) in the slot of step T - 1, or loaded with the next group's stored
//      membrane when passes continue an image, so step 0 reads it with no multiplexer in
//      front of the adders.
// The assembled beat goes to the output register when that is empty, so the consumer's ready
// reaches only the output valid. A beat starts (slot 0) when the beat before it is in the
// output register or will be before slot 0 writes a spike (C of slot 0 is two cycles away);
// fed by an accumulate engine, whose next beat comes two cycles after the take at the
// earliest, a beat starts the cycle it is presented, or a cycle later when a one-slot walk
// (F = 1) finds the beat before that still in the output register: its take F - 1 cycles
// after the start and its spikes out 4 cycles after the take, 5 with stage Q
// (codegen/estimate.py, Lif).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module lif_layer #(
    parameter integer N = 8,
    parameter integer C = 8,
    parameter integer T = 4,
    parameter integer X_STEPS = 4,       // T, or 1 for direct encoding
    parameter integer X_BITS = 16,
    parameter integer U_BITS = 18,
    parameter integer LEAK_SHIFT = 1,
    parameter integer LEAK_COMPLEMENT = 0,      // the leak keeps u - (u >>> LEAK_SHIFT) (lif_unit)
    parameter integer SOFT_RESET = 0,
    parameter integer LANES = 8,         // neurons updated per cycle, 1..N
    parameter integer CHUNKS = 1,        // passes of T steps per image (the window: CHUNKS * T)
    parameter integer POSITIONS = 1,     // beats per pass (CHUNKS > 1: the membranes kept)
    parameter integer FLAT_PICK = 16,    // a lane picks among at most this many currents in one stage
    parameter THRESHOLD_FILE = "threshold.mem"
) (
    input  wire                          clk,
    input  wire                          rst,
    input  wire [X_STEPS*N*X_BITS-1:0]   s_axis_tdata,
    input  wire                          s_axis_tvalid,
    output wire                          s_axis_tready,
    output reg  [N*T-1:0]                m_axis_tdata,
    output reg                           m_axis_tvalid,
    input  wire                          m_axis_tready
);
    localparam integer GROUPS = (N + LANES - 1) / LANES;
    localparam integer F = GROUPS * T;                      // update slots per beat
    localparam integer IW = (F > 1) ? $clog2(F) : 1;
    localparam [IW-1:0] LAST_SLOT = IW'(F - 1);

    reg signed [U_BITS-1:0] theta [0:C-1];
    initial $readmemh(THRESHOLD_FILE, theta);

    // the slot walked at the input
    reg  [IW-1:0] slot;
    // the slot as stage A takes it: the input's, or stage Q's (a wide pick, below)
    wire          w_go, w_last;
    wire [IW-1:0] w_slot;
    wire          q_last_held;     // stage Q holds a beat's last slot (none without stage Q)
    /* verilator lint_off UNUSEDSIGNAL */     // (no stage Q)
    wire [1:0]    q_member;        // the slot's current among its quad's, in stage Q
    /* verilator lint_on UNUSEDSIGNAL */
    // stage A
    reg           a_valid, a_last;
    reg  [IW-1:0] a_slot;
    reg  [LANES*X_BITS-1:0] a_x;
    // stage B
    reg           b_valid, b_last;
    wire          b_clear;         // the slot is of step T - 1
    reg  [LANES*X_BITS-1:0] b_x;
    reg  [LANES*(U_BITS+1)-1:0] b_xd;
    // stage C
    reg  [LANES*U_BITS-1:0] u;     // the lanes' membranes
    // the beat being assembled: each lane's spikes shifted into a chain of its own as its
    // slots are updated, so after the beat's slots slot i = g*T + t is at bit i of lane p's
    // chain (wired to neuron g*LANES + p's bit t below). A shift costs no LUT; writing each
    // bit in its own slot cost a decoder. A lane with no neuron in the last group (N not a
    // multiple of LANES) stops shifting there (b_tail), so its chain holds live bits only.
    wire [N*T-1:0] spikes;
    wire           b_tail;         // the slot is of the last group
    reg            pending;        // spikes holds a whole beat not yet in the output register

    // slot 0 may start when the beat before can no longer be overwritten: not in the stage
    // after the input (A, or Q: its last spikes are written two cycles after that stage, when
    // this slot's first could be), and if it is further on (in A after Q, in B, in C or
    // assembled), the output register is empty now (so it is loaded before slot 0's first
    // spike is written)
    wire start_ok = !(PICK_STAGE != 0 ? q_last_held : a_valid && a_last)
                    && (!(pending || (b_valid && b_last) || (PICK_STAGE != 0 && a_valid && a_last)) || !m_axis_tvalid);
    wire go = s_axis_tvalid && (slot != {IW{1'b0}} || start_ok);
    assign s_axis_tready = go && slot == LAST_SLOT;

    // stage A's multiplexer: per lane, the current of each slot; with one current for all
    // steps a lane picks among the groups' currents, not the slots' (a multiplexer T times
    // narrower than the one over the slots' copies of them)
    localparam integer BY_GROUP = (X_STEPS == 1 && T > 1 && GROUPS > 1) ? 1 : 0;
    localparam integer GRW = (GROUPS > 1) ? $clog2(GROUPS) : 1;
    /* verilator lint_off UNUSEDSIGNAL */     // (a current per slot: the slots are picked)
    wire [GRW-1:0] slot_group;      // slot / T
    /* verilator lint_on UNUSEDSIGNAL */
    // the choice is by `pick`: the slot, or its group when a lane picks among the groups'
    localparam integer CHOICES = (BY_GROUP != 0) ? GROUPS : F;
    localparam integer PKW = (BY_GROUP != 0) ? GRW : IW;
    wire [PKW-1:0] pick;
    // A wide choice (more than FLAT_PICK, and than 4) is made in two stages: Q takes the 4
    // currents of the slot's quad (choices 4q .. 4q + 3) by the index's high bits, A the slot's
    // among them by its two low bits. Flat, more than 16 choices are a multiplexer several LUT
    // and wide-multiplexer levels deep: the small end's critical path (lif1's 128 choices,
    // 10.58 ns placed on the ECP5)
    localparam integer QUADS = (CHOICES > FLAT_PICK && CHOICES > 4) ? (CHOICES + 3) / 4 : 0;
    localparam integer PICK_STAGE = (QUADS != 0) ? 1 : 0;
    genvar p, i, n, t;
    generate
        if (BY_GROUP != 0) begin : g_pick_group
            assign pick = slot_group;
        end else begin : g_pick_slot
            assign pick = slot;
        end
        for (p = 0; p < LANES; p = p + 1) begin : g_pick
            localparam integer LIVE_GROUPS = (N - p + LANES - 1) / LANES;   // the lane's groups with a neuron
            wire [X_BITS-1:0] choice [0:CHOICES-1];
            for (i = 0; i < CHOICES; i = i + 1) begin : g_choice
                // the current of choice i: slot i's, or group i's (its first step's)
                localparam integer SLOT = (BY_GROUP != 0) ? i * T : i;
                localparam integer NEURON = (SLOT / T) * LANES + p;
                localparam integer XT = (X_STEPS == 1) ? 0 : SLOT % T;
                // a lane's slots past its last neuron (N not a multiple of LANES): their
                // updates are never shifted into the beat, so what they read does not matter:
                // zero in a flat choice, the lane's last live current in quads (an input fewer
                // to choose from)
                localparam integer STAND_IN = (QUADS == 0 || LIVE_GROUPS == 0) ? -1
                    : (LIVE_GROUPS - 1) * LANES + p;
                if (NEURON < N) begin : g_live
                    assign choice[i] = s_axis_tdata[(XT*N + NEURON)*X_BITS +: X_BITS];
                end else if (STAND_IN >= 0) begin : g_stand_in
                    assign choice[i] = s_axis_tdata[(((X_STEPS == 1) ? 0 : T - 1)*N + STAND_IN)*X_BITS +: X_BITS];
                end else begin : g_pad
                    assign choice[i] = {X_BITS{1'b0}};
                end
            end
            // loaded every cycle, used where a_valid says: an enable here would fan `go`, which
            // comes from the producer's valid, out to every bit
            if (QUADS != 0) begin : g_quads
                reg [X_BITS-1:0] q_x [0:3];     // stage Q: the quad's currents
                genvar q, j;
                for (j = 0; j < 4; j = j + 1) begin : g_member
                    wire [X_BITS-1:0] member [0:QUADS-1];     // member j of each quad
                    for (q = 0; q < QUADS; q = q + 1) begin : g_quad
                        // past the last choice: the last one (never picked)
                        assign member[q] = choice[(4*q + j < CHOICES) ? 4*q + j : CHOICES - 1];
                    end
                    always @(posedge clk) q_x[j] <= member[pick[PKW-1:2]];
                end
                always @(posedge clk) a_x[p*X_BITS +: X_BITS] <= q_x[q_member];
            end else begin : g_flat
                always @(posedge clk) a_x[p*X_BITS +: X_BITS] <= choice[pick];
            end
        end
    endgenerate

    // the slots of one step: step T - 1's, after which the lanes' membranes go back to rest or
    // to the next group's, and step 0's, where a group enters (a constant table, not a modulo)
    function automatic [F-1:0] step_slots(input integer step);
        integer s;
        begin
            step_slots = {F{1'b0}};
            for (s = 0; s < F; s = s + 1) step_slots[s] = (s % T) == step;
        end
    endfunction
    localparam [F-1:0] LAST_STEP_SLOTS = step_slots(T - 1);
    // the slot's group: its high bits when T is a power of two, else counted beside the slot
    generate
        if (BY_GROUP == 0) begin : g_no_group
            assign slot_group = {GRW{1'b0}};
        end else if ((T & (T - 1)) == 0) begin : g_group_bits
            /* verilator lint_off UNUSEDSIGNAL */
            wire [IW-1:0] high = slot >> $clog2(T);
            /* verilator lint_on UNUSEDSIGNAL */
            assign slot_group = high[GRW-1:0];
        end else begin : g_group_count
            reg [GRW-1:0] group_q;
            always @(posedge clk)
                if (rst || (go && slot == LAST_SLOT)) group_q <= {GRW{1'b0}};
                else if (go && LAST_STEP_SLOTS[slot]) group_q <= group_q + 1'b1;
            assign slot_group = group_q;
        end
    endgenerate
    // stage Q (a wide pick): the slot a cycle on, and its member in the quad (the pick's low
    // bits: the slot's, or its group's)
    generate
        if (PICK_STAGE != 0) begin : g_q
            reg          q_valid;
            reg [IW-1:0] q_slot;
            always @(posedge clk) begin
                q_valid <= go;
                q_slot <= slot;
                if (rst) q_valid <= 1'b0;
            end
            // the pick's low bits registered: where they are the slot's (a pick by slot, or by
            // group when T is a power of two) synthesis merges them with q_slot's; a counted
            // group's are two flip-flops of their own
            reg [1:0]    q_member_r;
            always @(posedge clk) q_member_r <= pick[1:0];
            assign w_go = q_valid;
            assign w_slot = q_slot;
            assign q_member = q_member_r;
        end else begin : g_no_q
            assign w_go = go;
            assign w_slot = slot;
            assign q_member = 2'b00;
        end
    endgenerate
    assign w_last = w_slot == LAST_SLOT;
    assign q_last_held = (PICK_STAGE != 0) && w_go && w_last;

    // with one group of neurons the slots of step T - 1 are the beat's last; with one step, all
    generate
        if (F > T && T > 1) begin : g_clear
            reg b_clear_q;      // decoded in B from stage A's slot
            always @(posedge clk) b_clear_q <= LAST_STEP_SLOTS[a_slot];
            assign b_clear = b_clear_q;
        end else begin : g_clear_last
            assign b_clear = (T == 1) || b_last;
        end
    endgenerate

    always @(posedge clk) begin
        a_valid <= w_go;
        a_slot <= w_slot;
        a_last <= w_last;
        if (go) slot <= (slot == LAST_SLOT) ? {IW{1'b0}} : slot + 1'b1;
        if (rst) begin
            slot <= {IW{1'b0}};
            a_valid <= 1'b0;
        end
    end

    // stage B: x - theta of each lane's neuron in the slot, U_BITS + 1 wide
    generate
        for (p = 0; p < LANES; p = p + 1) begin : g_minus_theta
            wire signed [U_BITS-1:0] theta_slot [0:F-1];
            for (i = 0; i < F; i = i + 1) begin : g_slot
                localparam integer NEURON = (i / T) * LANES + p;
                assign theta_slot[i] = (NEURON < N) ? theta[NEURON % C] : {U_BITS{1'b0}};
            end
            wire signed [X_BITS-1:0] x = a_x[p*X_BITS +: X_BITS];
            always @(posedge clk)
                b_xd[p*(U_BITS+1) +: U_BITS+1] <= (U_BITS+1)'(x) - (U_BITS+1)'(theta_slot[a_slot]);
        end
    endgenerate

    generate
        if (N % LANES != 0 && GROUPS > 1) begin : g_tail
            reg b_tail_q;
            always @(posedge clk) b_tail_q <= a_slot >= IW'((GROUPS - 1) * T);
            assign b_tail = b_tail_q;
        end else begin : g_no_tail
            assign b_tail = 1'b0;      // every lane is live in every group (or there is one group)
        end
    endgenerate

    always @(posedge clk) begin
        b_valid <= a_valid;
        b_last <= a_last;
        b_x <= a_x;
        if (rst) b_valid <= 1'b0;
    end

    // The membranes between passes. After a group's step T - 1 (B's b_clear) its lanes' next
    // membranes are stored and the next group's are loaded in the same edge, or rest when
    // that group's pass is an image's first (b_rest). The load was read a cycle ahead: the
    // address follows the group in stage A (ma), so the read is in flight while that group's
    // slot is in B. With M = 2 the load can be the word stored in the same edge: forwarded.
    /* verilator lint_off UNUSEDSIGNAL */     // (one pass: nothing is stored)
    wire [LANES*U_BITS-1:0] u_store;   // the lanes' updates, stored at a group's last step
    /* verilator lint_on UNUSEDSIGNAL */
    wire [LANES*U_BITS-1:0] u_load;    // the next group's membranes
    wire b_rest;
    generate
        if (CHUNKS > 1) begin : g_passes
            localparam integer M = POSITIONS * GROUPS;
            localparam integer MW = (M > 1) ? $clog2(M) : 1;
            localparam integer KW = $clog2(CHUNKS);
            localparam [MW-1:0] LAST_M = MW'(M - 1);
            localparam [KW-1:0] LAST_CHUNK = KW'(CHUNKS - 1);
            localparam [F-1:0] FIRST_STEP_SLOTS = step_slots(0);
            reg [MW-1:0] ma;            // the membrane group of the slot in stage A
            reg [MW-1:0] rd_addr;       // the group after it: the one loaded at its last step
            reg [MW-1:0] mb;
            reg [KW-1:0] chunk;         // the pass of the slot in stage A
            reg          rest_q;
            reg [LANES*U_BITS-1:0] mem [0:M-1];
            reg [LANES*U_BITS-1:0] load_q;
            wire store = b_valid && b_clear;
            always @(posedge clk) begin
                if (w_go && FIRST_STEP_SLOTS[w_slot]) begin     // a group's first slot enters A
                    ma <= rd_addr;
                    rd_addr <= (rd_addr == LAST_M) ? {MW{1'b0}} : rd_addr + 1'b1;
                    if (rd_addr == {MW{1'b0}}) chunk <= (chunk == LAST_CHUNK) ? {KW{1'b0}} : chunk + 1'b1;
                end
                // the group after A's starts an image's first pass
                rest_q <= (ma == LAST_M) ? chunk == LAST_CHUNK : chunk == {KW{1'b0}};
                mb <= ma;
                if (store) mem[mb] <= u_store;
                if (M == 2 && store && mb == rd_addr) load_q <= u_store;
                else load_q <= mem[rd_addr];
                if (rst) begin
                    rd_addr <= {MW{1'b0}};
                    chunk <= LAST_CHUNK;
                end
            end
            // one group in all (M = 1): the group loaded is the one stored, its updates themselves
            assign u_load = (M == 1) ? u_store : load_q;
            assign b_rest = rest_q;
        end else begin : g_one_pass
            assign u_load = {LANES*U_BITS{1'b0}};
            assign b_rest = 1'b1;
        end
    endgenerate

    // stage C: the updates, the spikes shifted into the beat
    generate
        for (p = 0; p < LANES; p = p + 1) begin : g_lane
            // a signed wire, not $signed() at the port: with one lane the slice is all of u, and
            // Yosys 0.23 then fails an assertion on the port's signedness (genrtlil.cc:1965)
            wire signed [U_BITS-1:0] u_lane = u[p*U_BITS +: U_BITS];
            wire signed [U_BITS-1:0] u_next;
            wire spike;
            lif_unit #(
                .X_BITS(X_BITS), .U_BITS(U_BITS), .LEAK_SHIFT(LEAK_SHIFT),
                .LEAK_COMPLEMENT(LEAK_COMPLEMENT), .SOFT_RESET(SOFT_RESET)
            ) u_lif (
                .u(u_lane),
                .x(b_x[p*X_BITS +: X_BITS]),
                .xd(b_xd[p*(U_BITS+1) +: U_BITS+1]),
                .u_next(u_next),
                .spike(spike)
            );
            assign u_store[p*U_BITS +: U_BITS] = u_next;
            always @(posedge clk)
                if (rst || (b_valid && b_clear && b_rest)) u[p*U_BITS +: U_BITS] <= {U_BITS{1'b0}};
                else if (b_valid && b_clear) u[p*U_BITS +: U_BITS] <= u_load[p*U_BITS +: U_BITS];
                else if (b_valid) u[p*U_BITS +: U_BITS] <= u_next;
            localparam integer LIVE = ((N - p + LANES - 1) / LANES) * T;    // the lane's live slots
            if (LIVE > 0) begin : g_chain
                reg [LIVE-1:0] chain;
                wire shift = b_valid && (LIVE == F || !b_tail);
                if (LIVE > 1) begin : g_shift
                    always @(posedge clk) if (shift) chain <= {spike, chain[LIVE-1:1]};
                end else begin : g_one
                    always @(posedge clk) if (shift) chain <= spike;
                end
                for (n = p; n < N; n = n + LANES) begin : g_neuron
                    for (t = 0; t < T; t = t + 1) begin : g_step
                        assign spikes[n*T + t] = chain[(n / LANES) * T + t];
                    end
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
        if (pending && !m_axis_tvalid) begin     // the output register is empty
            m_axis_tdata <= spikes;
            m_axis_tvalid <= 1'b1;
        end
        if (b_valid && b_last) pending <= 1'b1;
        else if (!m_axis_tvalid) pending <= 1'b0;
        if (rst) begin
            m_axis_tvalid <= 1'b0;
            pending <= 1'b0;
        end
    end
endmodule

`resetall
