// The ReScaW accumulate engine of one conv/dense layer, for spike or pixel inputs.
//
// It consumes an element stream (from conv_window or vector_serializer): beats
// {last, index, element}, last on the final element of an output position (a conv window,
// or the whole input of a dense layer). Elements not sent are zero. An element is a group of
// SIMD inputs (the inputs-per-cycle knob; SIMD = 1: one input), index in 0..N_IN/SIMD-1 its
// row of the weight ROM; input j of the group is at bits [j*T_IN*IN_BITS +: T_IN*IN_BITS]. It produces the position's N_OUT currents for each of
// T_IN time steps in one output beat:
//     X[t][o] = ((2 * sum_i x_i[t] * W_int[i][o]  -  S * sum_i x_i[t]) << FRAC_BITS) + B_o
//             = (sum_i x_i[t] * V[i][o]) << FRAC_BITS) + B_o,   V = 2 W_int - S,
// S = 2^W_BITS - 1 the ReScaW offset. V = 2c + 1 - 2^W_BITS is the code with a 1 appended and
// its top bit inverted (a signed W_BITS + 1-bit number, no arithmetic), so the engine
// accumulates one signed sum per lane and a current is one addition away.
// An input carries T_IN values of IN_BITS (all T spikes of one input neuron, or one 8-bit
// pixel with T_IN = 1: direct encoding computes the first layer's current once). With spike
// inputs x * V is an AND: the engine adds weights, no multipliers.
// PE outputs are updated per cycle (the parallelism knob): a non-zero element takes
// G = N_OUT/PE cycles (its output group 0 is read in the cycle it is taken), an all-zero element one
// when SKIP_ZEROS = 1 (event-driven: the producers send only non-zero elements, so work
// scales with the spikes), G like any other when SKIP_ZEROS = 0 (the dense baseline).
// The accumulators are one set, and a position's sums wait in a second (the shadow) for the
// output register, so the next position accumulates while the last one's currents wait: a
// position costs no more than its elements' work. A finished position is copied into the
// shadow in the edge after its last accumulate landed, once the shadow is free (the next
// position's first accumulate may land in that same edge: the first element of a position
// adds to zero, not to what the accumulators hold, so they need no clear); the elements of
// the position after that wait until its copy is certain. One adder per step and PE lane serves
// all G groups: a lane's G accumulators (outputs p, PE + p, ...) form a ring that turns once
// per group update, so the group being updated is always at its head (an element updates
// groups 0 .. G-1 in order, so the ring is back in place after each element).
// Pipeline: the ROM's address (registered: a ROM built from logic would otherwise take the
// address multiplexer into every one of its bits' functions, several times its LUTs), the ROM
// read (block RAM) and its output register (the block RAM's own: its clock-to-out would
// otherwise start the next path), the products and their sum over the
// element's SIMD inputs (registered: the DSPs' own output registers for pixel inputs), the
// accumulate; each ends in registers. The sum over SIMD > 2 inputs is a tree with a register
// after each level (adder_tree: one adder on any path), so it takes TREE_LAG = LEVELS - 1 cycles
// more than one product's register. A finished position goes out in two: the shadow, then
// the currents (sums plus biases) in the output register.
// Weights: a ROM of N_IN/SIMD * N_OUT/PE words of SIMD x PE codes (input j, output p at
// bits [(j*PE + p)*W_BITS]), read synchronously (block RAM), from WEIGHT_FILE ($readmemh);
// biases from BIAS_FILE (unless HAS_BIAS = 0). Output lane (t, o) is at t*N_OUT + o.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module accumulate_engine #(
    parameter integer N_IN = 16,
    parameter integer N_OUT = 8,
    parameter integer PE = 4,
    parameter integer SIMD = 1,          // inputs per element (a divisor of N_IN)
    parameter integer T_IN = 1,
    parameter integer IN_BITS = 1,
    parameter integer W_BITS = 4,
    parameter integer FRAC_BITS = 4,
    parameter integer OUT_BITS = 24,
    parameter integer BIAS_BITS = 24,
    parameter integer SKIP_ZEROS = 1,
    parameter integer HAS_BIAS = 1,
    parameter integer FANOUT = 0,        // > 0: no control register drives more flip-flops (copies)
    parameter integer ROM_BLOCK_RAM = 0, // 1: the weight ROM in block RAM whatever its shape
    parameter WEIGHT_FILE = "weights.mem",
    parameter BIAS_FILE = "bias.mem",
    parameter integer INDEX_BITS = ($clog2(N_IN / SIMD) > 0) ? $clog2(N_IN / SIMD) : 1
) (
    input  wire                             clk,
    input  wire                             rst,
    input  wire [1+INDEX_BITS+SIMD*T_IN*IN_BITS-1:0] s_axis_tdata,
    input  wire                             s_axis_tvalid,
    output wire                             s_axis_tready,
    output wire [T_IN*N_OUT*OUT_BITS-1:0]   m_axis_tdata,
    output reg                              m_axis_tvalid,
    input  wire                             m_axis_tready
);
    localparam integer G = N_OUT / PE;                       // cycles per non-zero element
    localparam integer X_BITS = SIMD * T_IN * IN_BITS;       // one element
    localparam integer DEPTH = N_IN / SIMD * G;
    localparam integer AW = $clog2(DEPTH + 1);                         // counts to DEPTH
    localparam integer RA = (DEPTH > 1) ? $clog2(DEPTH) : 1;            // ROM index
    localparam integer GW = (G > 1) ? $clog2(G) : 1;
    localparam integer VW = W_BITS + 1;                                  // a signed weight V
    localparam [W_BITS-1:0] TOP_BIT = W_BITS'(1) << (W_BITS - 1);
    localparam integer ACC_W = IN_BITS + VW + $clog2(N_IN + 1);          // sum x*V, signed
    localparam integer DOT_W = IN_BITS + VW + $clog2(SIMD + 1);          // one element's sum, signed
    // an input of at most this many bits (a count: an event count, a sum pool's) is multiplied
    // by shifts and adds, IN_BITS - 1 adders, rather than in a DSP: the sum pools make every
    // step and lane a product, more than an ECP5's 156 multipliers hold
    localparam integer SHIFT_ADD_BITS = 4;
    localparam integer WIDE0 = ACC_W + FRAC_BITS;
    localparam integer WIDE1 = (OUT_BITS > BIAS_BITS) ? OUT_BITS : BIAS_BITS;
    localparam integer WIDE = ((WIDE0 > WIDE1) ? WIDE0 : WIDE1) + 1;  // signed working width
    localparam [GW-1:0] LAST_G = GW'(G - 1);
    // the cycles the tree's levels add after stage 1 beyond one register (stage 2's)
    localparam integer TREE_LAG = (SIMD > 2) ? $clog2(SIMD) - 1 : 0;

    // output o's bias at [o*BIAS_BITS]; none for a layer without (HAS_BIAS = 0: `bias: false`
    // and no batch norm), whose currents are the sums shifted, no adder
    wire [N_OUT*BIAS_BITS-1:0] biases;
    generate
        if (HAS_BIAS != 0) begin : g_bias
            reg [BIAS_BITS-1:0] bias [0:N_OUT-1];
            initial $readmemh(BIAS_FILE, bias);
            genvar gbo;
            for (gbo = 0; gbo < N_OUT; gbo = gbo + 1) begin : g_out
                assign biases[gbo*BIAS_BITS +: BIAS_BITS] = bias[gbo];
            end
        end else begin : g_no_bias
            assign biases = {(N_OUT*BIAS_BITS){1'b0}};
        end
    endgenerate

    localparam integer LANES = T_IN * N_OUT;
    localparam integer ACC_LANES = T_IN * PE;                // one adder and ring each
    // The enables of a position's copy into the shadow, of the output register's load and of
    // the accumulates reach every lane: 4k flip-flops in the fast end's conv1 engine, where the
    // load's enable net alone took 22.9 ns placed. With FANOUT > 0 their registers are copied,
    // each copy driving at most FANOUT flip-flops (copy 0 the register the control logic uses;
    // the other copies' always blocks carry keep: Yosys would merge identical registers
    // otherwise). codegen/rtl.py asks for it in large engines only: in a small one the enables'
    // nets are short and the copies cost LUTs (about 120 in the small end).
    localparam integer OUT_FANIN = LANES * (ACC_W + OUT_BITS);             // shadow and output bits
    localparam integer ACC_FANIN = ACC_LANES * (G + 1) * ACC_W;            // accumulators and head choices
    localparam integer FAN = (FANOUT > 0) ? FANOUT : OUT_FANIN + ACC_FANIN;   // 0: one copy
    localparam integer OUT_COPIES = (OUT_FANIN + FAN - 1) / FAN < LANES ? (OUT_FANIN + FAN - 1) / FAN : LANES;
    // ... and the element register (stage 1's x) copied per FANOUT / 32 PE lanes (8 at 256): each
    // of its bits reaches every lane's products, which spread over the whole engine (the fast
    // end's next critical path, 16.3 ns, from one spike to a far lane's first tree level)
    localparam integer X_LANES = (FANOUT >= 64) ? FANOUT / 32 : PE;
    localparam integer X_COPIES = (PE + X_LANES - 1) / X_LANES;
    localparam integer ACC_COPIES = (ACC_FANIN + FAN - 1) / FAN < ACC_LANES ? (ACC_FANIN + FAN - 1) / FAN : ACC_LANES;

    // element state
    reg [X_BITS-1:0]  x_reg;
    reg               busy;        // iterating the groups of one non-zero element
    reg [GW-1:0]      g;
    reg [AW-1:0]      base;        // ROM address of group 0 of the current element
    reg               x_bank;      // the parity of the element being iterated's position
    reg               x_first;     // ... and whether it is the position's first non-zero element
    reg               in_bank;     // the parity of the position the next element belongs to
    reg               fresh;       // no non-zero element of that position taken yet
    reg               out_bank;    // the parity of the oldest position not yet in the shadow
    reg [1:0]         bank_done;   // a position of this parity has all its elements, not yet copied
    reg [1:0]         bank_empty;  // ... and none of them was non-zero (its sums are zero)
    // the finished position goes into the shadow in this cycle, and as zeros. keep: synthesis
    // would otherwise merge copy_go with one of its copies (below), placed among that copy's
    // lanes, far from the control logic it feeds back into
    (* keep *) reg    copy_go;
    (* keep *) reg    copy_zero;
    wire [LANES*ACC_W-1:0] shadow; // a finished position's sums, waiting for the output register
    reg               shadow_valid;

    // pipeline stage 0: the ROM address registered (rd_q), the element with it (sa_*); stage 1:
    // ROM data arrives one cycle after its address (w_rd), and is registered again (w_q)
    reg [RA-1:0]             rd_q;
    reg [SIMD*PE*W_BITS-1:0] w_rd, w_q;
    reg                    sa_valid, s0_valid;
    reg [X_BITS-1:0]       sa_x, s0_x, s1_x;
    wire [X_BITS-1:0]      s1_x_of [0:X_COPIES-1];     // s1_x and its copies (X_LANES)
    reg                    sa_bank, s0_bank;
    reg                    sa_first, s0_first;
    // stage 1 and the tree's levels after it: bit 0 is stage 1, bit k the element k cycles on
    reg [TREE_LAG:0]       s1_valid, s1_bank, s1_first;
    integer                lag;
    // pipeline stage 2: the element's products summed per lane
    reg                    s2_valid;
    reg                    s2_first;
    wire [T_IN*PE*DOT_W-1:0] dot_q;

    // The weight ROM, read one cycle after its address (w_rd). Synthesis chooses block RAM or
    // logic by its shape; ROM_BLOCK_RAM = 1 asks for block RAM: a large engine's shallow, wide
    // ROM built from logic (the fast end's conv1: 18 words of 1,024 bits) put its address
    // register's fanout and a few LUT levels on the critical path (13.2 ns placed)
    generate
        if (ROM_BLOCK_RAM != 0) begin : g_rom_block
            (* rom_style = "block" *) reg [SIMD*PE*W_BITS-1:0] rom [0:DEPTH-1];
            initial $readmemh(WEIGHT_FILE, rom);
            always @(posedge clk) w_rd <= rom[rd_q];    // past the end only when nothing uses it
        end else begin : g_rom
            reg [SIMD*PE*W_BITS-1:0] rom [0:DEPTH-1];
            initial $readmemh(WEIGHT_FILE, rom);
            always @(posedge clk) w_rd <= rom[rd_q];    // past the end only when nothing uses it
        end
    endgenerate

    wire [X_BITS-1:0]       in_x = s_axis_tdata[X_BITS-1:0];
    wire [INDEX_BITS-1:0]   in_index = s_axis_tdata[X_BITS +: INDEX_BITS];
    wire                    in_last = s_axis_tdata[X_BITS + INDEX_BITS];
    // the parities' flags chosen by 2:1 multiplexers (an index into bank_done is a shift to
    // Yosys, which made a carry chain of it in front of every flag's enable)
    wire in_bank_done = in_bank ? bank_done[1] : bank_done[0];
    wire prev_bank_done = in_bank ? bank_done[0] : bank_done[1];
    wire out_bank_done = out_bank ? bank_done[1] : bank_done[0];
    wire out_bank_empty = out_bank ? bank_empty[1] : bank_empty[0];
    // the shadow is held through this cycle: full, and the output register not free to take it
    wire shadow_held = shadow_valid && m_axis_tvalid;
    // An element may be taken when its position's predecessor is in the shadow or certain to
    // be copied there before this element's first accumulate lands (4 + TREE_LAG cycles after the
    // take, in the edge of that copy at the earliest): not while two finished positions wait
    // for the shadow (the position two back is not copied), nor while one does and the shadow
    // is held (nothing but that copy fills the shadow, so a free shadow stays free for it)
    assign s_axis_tready = !busy && !in_bank_done && !(prev_bank_done && !copy_go && shadow_held);
    wire take = s_axis_tvalid && s_axis_tready;
    wire nonzero = (SKIP_ZEROS == 0) || (in_x != {X_BITS{1'b0}});
    // group 0 of the element taken: in_index * G by shifts and adds, one per set bit of the
    // constant G (synth_ecp5 put the product in a MULT18X18D, whose 3.9 ns was the fast end's
    // critical path: dense0's G = 10, from the serializer's output to the ROM's address)
    function automatic [AW-1:0] times_g(input [INDEX_BITS-1:0] index);
        integer b;
        begin
            times_g = {AW{1'b0}};
            for (b = 0; b < GW + 1; b = b + 1)
                /* verilator lint_off WIDTHEXPAND */
                if (((G >> b) & 1) != 0) times_g = times_g + (AW'(index) << b);
                /* verilator lint_on WIDTHEXPAND */
        end
    endfunction
    wire [AW-1:0] in_base = times_g(in_index);
    /* verilator lint_off UNUSEDSIGNAL */
    // busy: group g of the element taken earlier; else group 0 of the element at the input
    wire [AW-1:0] rd_addr = busy ? base + {{(AW-GW){1'b0}}, g} : in_base;
    /* verilator lint_on UNUSEDSIGNAL */

    // The oldest unfinished position is complete in the next cycle: all its elements taken (its
    // last one now, a zero element, which adds nothing) and none of its accumulates in flight
    // then (the one in stage 2 lands in this edge). Registered into copy_go, so the copy's
    // enable on every shadow bit comes from a flip-flop, and the copy lands in the edge after
    // the position's last accumulate; the shadow must be free by then (its sums leave in this
    // edge, or it is empty and not being filled).
    wire last_now = take && in_last && in_bank == out_bank && !nonzero;
    wire complete_next = (out_bank_done || last_now) && !(busy && x_bank == out_bank)
                         && !(sa_valid && sa_bank == out_bank) && !(s0_valid && s0_bank == out_bank)
                         && !(|(s1_valid & ~(s1_bank ^ {(TREE_LAG+1){out_bank}})));
    wire copy_next = complete_next && !copy_go && !shadow_held;
    wire copy_zero_next = copy_next && (out_bank_done ? out_bank_empty : fresh);
    // the output register takes the shadow's currents when it is empty (from registers only:
    // the consumer's ready does not reach this enable)
    wire load_out = shadow_valid && !m_axis_tvalid;

    // the current of lane (t, o): X[t][o] = (sum << F) + B_o
    wire [T_IN*N_OUT*OUT_BITS-1:0] currents;
    // the accumulators, lane (t, o) at [(t*N_OUT + o)*ACC_W]
    wire [LANES*ACC_W-1:0] acc;
    genvar gt, go;
    generate
        for (gt = 0; gt < T_IN; gt = gt + 1) begin : g_step
            for (go = 0; go < N_OUT; go = go + 1) begin : g_current
                wire signed [ACC_W-1:0] sum = shadow[(gt*N_OUT + go)*ACC_W +: ACC_W];
                // the deploy form bounds |X| to OUT_BITS: the upper working bits are sign copies
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [BIAS_BITS-1:0] bias = biases[go*BIAS_BITS +: BIAS_BITS];
                wire signed [WIDE-1:0] cur = (WIDE'(sum) <<< FRAC_BITS) + WIDE'(bias);
                /* verilator lint_on UNUSEDSIGNAL */
                assign currents[(gt*N_OUT + go)*OUT_BITS +: OUT_BITS] = cur[OUT_BITS-1:0];
            end
        end
    endgenerate

    // per step and output lane the dot product of the element's SIMD inputs with their
    // weights (an adder tree), registered in dot_q. Synthesized for the ECP5 (QPSNN_ECP5), one
    // pixel input per element: its product in a registered_product from the registers' inputs
    // (the ROM's read and the element of stage 0), so the MULT18X18D's own registers stand for
    // w_q, s1_x and dot_q (synth_ecp5 then removes those), cycle for cycle the same. Not for a
    // ROM deeper than one block RAM (DP16KD: 512 words at its widest): its read passes the
    // multiplexer among the blocks' outputs, which must end in a fabric register (w_q) rather
    // than run on to the multiplier's input (the MLP skeleton's first layer, 3,136 words: 12.2 ns
    // into the block's input register, 10.6 ns into w_q). Elsewhere the registers stay in the
    // engine, where synth_xilinx takes dot_q and the accumulator into the DSP48 (a
    // registered_product's boundary would keep the accumulator out of it).
`ifdef QPSNN_ECP5
    localparam integer DSP_REGISTERS = (DEPTH <= 512) ? 1 : 0;
`else
    localparam integer DSP_REGISTERS = 0;
`endif
    genvar gj, gp, gb;
    generate
        for (gt = 0; gt < T_IN; gt = gt + 1) begin : g_dot_step
            for (gp = 0; gp < PE; gp = gp + 1) begin : g_lane
                if (DSP_REGISTERS != 0 && IN_BITS > SHIFT_ADD_BITS && SIMD == 1) begin : g_dsp
                    wire [IN_BITS:0]      x = {1'b0, s0_x[gt*IN_BITS +: IN_BITS]};
                    wire [W_BITS-1:0]     code = w_rd[gp*W_BITS +: W_BITS];
                    wire [VW-1:0]         w = {code ^ TOP_BIT, 1'b1};    // 2 code - S
                    registered_product #(.A_BITS(IN_BITS + 1), .B_BITS(VW), .P_BITS(DOT_W)) u_product (
                        .clk(clk), .a(x), .b(w), .p(dot_q[(gt*PE + gp)*DOT_W +: DOT_W]));
                end else begin : g_sum
                    // the products, PW bits each, summed by a balanced tree (adder_tree)
                    localparam integer PW = (IN_BITS == 1) ? VW : (IN_BITS <= SHIFT_ADD_BITS) ? IN_BITS + VW
                                                                                           : IN_BITS + 1 + VW;
                    wire [SIMD*PW-1:0] products;
                    for (gj = 0; gj < SIMD; gj = gj + 1) begin : g_term
                        wire [IN_BITS-1:0]     x = s1_x_of[gp / X_LANES][(gj*T_IN + gt)*IN_BITS +: IN_BITS];
                        wire [W_BITS-1:0]      code = w_q[(gj*PE + gp)*W_BITS +: W_BITS];
                        wire signed [VW-1:0]   w = $signed({code ^ TOP_BIT, 1'b1});    // 2 code - S
                        wire signed [PW-1:0]   product;
                        if (IN_BITS == 1) begin : g_spike     // a spike selects the weight
                            assign product = x[0] ? w : {PW{1'b0}};
                        end else if (IN_BITS <= SHIFT_ADD_BITS) begin : g_count
                            wire signed [PW-1:0] partial [0:IN_BITS];
                            assign partial[0] = {PW{1'b0}};
                            for (gb = 0; gb < IN_BITS; gb = gb + 1) begin : g_bit
                                assign partial[gb + 1] = partial[gb] + (x[gb] ? PW'(w) <<< gb : {PW{1'b0}});
                            end
                            assign product = partial[IN_BITS];
                        end else begin : g_pixel
                            assign product = $signed({1'b0, x}) * w;
                        end
                        assign products[gj*PW +: PW] = product;
                    end
                    if (SIMD > 1) begin : g_tree        // its root's register is stage 2's
                        adder_tree #(.N(SIMD), .W(PW), .SUM_W(DOT_W)) u_sum (
                            .clk(clk), .terms(products), .sum(dot_q[(gt*PE + gp)*DOT_W +: DOT_W]));
                    end else begin : g_one      // one product: its register
                        reg [DOT_W-1:0] dot_r;
                        always @(posedge clk) dot_r <= DOT_W'($signed(products));
                        assign dot_q[(gt*PE + gp)*DOT_W +: DOT_W] = dot_r;
                    end
                end
            end
        end
    endgenerate


    always @(posedge clk) begin
        rd_q <= rd_addr[RA-1:0];
        w_q <= w_rd;
        sa_valid <= busy || (take && nonzero);
        sa_x <= busy ? x_reg : in_x;
        sa_bank <= busy ? x_bank : in_bank;
        sa_first <= busy ? x_first : fresh;
        s0_valid <= sa_valid;
        s0_x <= sa_x;
        s0_bank <= sa_bank;
        s0_first <= sa_first;
        s1_valid[0] <= s0_valid;
        s1_x <= s0_x;
        s1_bank[0] <= s0_bank;
        s1_first[0] <= s0_first;
        for (lag = 1; lag <= TREE_LAG; lag = lag + 1) begin
            s1_valid[lag] <= s1_valid[lag-1];
            s1_bank[lag] <= s1_bank[lag-1];
            s1_first[lag] <= s1_first[lag-1];
        end
        s2_valid <= s1_valid[TREE_LAG];
        s2_first <= s1_first[TREE_LAG];

        if (take) begin
            if (in_last) begin
                if (in_bank) bank_done[1] <= 1'b1;
                else bank_done[0] <= 1'b1;
                if (in_bank) bank_empty[1] <= fresh && !nonzero;
                else bank_empty[0] <= fresh && !nonzero;
                in_bank <= !in_bank;
                fresh <= 1'b1;
            end else if (nonzero) begin
                fresh <= 1'b0;
            end
            if (nonzero) begin
                x_reg <= in_x;
                x_bank <= in_bank;
                x_first <= fresh;
            end
            if (nonzero && G > 1) begin
                busy <= 1'b1;          // groups 1 .. G-1 follow
                g <= GW'(1);
                base <= in_base;
            end
        end

        if (busy) begin
            if (g == LAST_G) begin
                g <= {GW{1'b0}};
                busy <= 1'b0;
            end else begin
                g <= g + 1'b1;
            end
        end

        // the finished position into the shadow (each lane's copy below): its bank free again
        copy_go <= copy_next;
        copy_zero <= copy_zero_next;
        if (copy_go) begin
            if (out_bank) bank_done[1] <= 1'b0;
            else bank_done[0] <= 1'b0;
            out_bank <= !out_bank;
        end
        shadow_valid <= copy_go || (shadow_valid && !load_out);

        if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
        if (load_out) m_axis_tvalid <= 1'b1;

        if (rst) begin
            busy <= 1'b0;
            g <= {GW{1'b0}};
            base <= {AW{1'b0}};
            bank_done <= 2'b00;
            bank_empty <= 2'b00;
            in_bank <= 1'b0;
            fresh <= 1'b1;
            out_bank <= 1'b0;
            x_bank <= 1'b0;
            x_first <= 1'b0;
            sa_valid <= 1'b0;
            s0_valid <= 1'b0;
            s1_valid <= {(TREE_LAG+1){1'b0}};
            s2_valid <= 1'b0;
            m_axis_tvalid <= 1'b0;
            copy_go <= 1'b0;
            copy_zero <= 1'b0;
            shadow_valid <= 1'b0;
        end
    end

    // the control registers' copies (FANOUT above): copy c serves the lanes c * LANES / COPIES ..
    wire [OUT_COPIES-1:0] copy_go_of, copy_zero_of, load_of;
    wire [ACC_COPIES-1:0] s2_valid_of, s2_first_of;
    genvar gc, gl;
    generate
        for (gc = 0; gc < OUT_COPIES; gc = gc + 1) begin : g_out_copy
            if (gc == 0) begin : g_first
                assign copy_go_of[gc] = copy_go;
                assign copy_zero_of[gc] = copy_zero;
                assign load_of[gc] = load_out;
            end else begin : g_more
                reg go_c, zero_c, full_c, out_c;        // copy_go, copy_zero, shadow_valid, m_axis_tvalid
                wire load_c = full_c && !out_c;
                (* keep *) always @(posedge clk) begin
                    go_c <= copy_next;
                    zero_c <= copy_zero_next;
                    full_c <= go_c || (full_c && !load_c);
                    if (out_c && m_axis_tready) out_c <= 1'b0;
                    if (load_c) out_c <= 1'b1;
                    if (rst) begin
                        go_c <= 1'b0;
                        zero_c <= 1'b0;
                        full_c <= 1'b0;
                        out_c <= 1'b0;
                    end
                end
                assign copy_go_of[gc] = go_c;
                assign copy_zero_of[gc] = zero_c;
                assign load_of[gc] = load_c;
            end
        end
        for (gc = 0; gc < X_COPIES; gc = gc + 1) begin : g_x_copy
            if (gc == 0) begin : g_first
                assign s1_x_of[gc] = s1_x;
            end else begin : g_more
                reg [X_BITS-1:0] x_c;
                (* keep *) always @(posedge clk) x_c <= s0_x;
                assign s1_x_of[gc] = x_c;
            end
        end
        for (gc = 0; gc < ACC_COPIES; gc = gc + 1) begin : g_acc_copy
            if (gc == 0) begin : g_first
                assign s2_valid_of[gc] = s2_valid;
                assign s2_first_of[gc] = s2_first;
            end else begin : g_more
                reg valid_c, first_c;
                (* keep *) always @(posedge clk) begin
                    valid_c <= s1_valid[TREE_LAG];
                    first_c <= s1_first[TREE_LAG];
                    if (rst) valid_c <= 1'b0;
                end
                assign s2_valid_of[gc] = valid_c;
                assign s2_first_of[gc] = first_c;
            end
        end
        // the shadow and the output register, lane l = t*N_OUT + o (the finished position's
        // sums, or zeros when it had no non-zero element: the accumulators then still hold the
        // position before)
        for (gl = 0; gl < LANES; gl = gl + 1) begin : g_out_lane
            localparam integer C = gl * OUT_COPIES / LANES;
            reg [ACC_W-1:0] sums;
            reg [OUT_BITS-1:0] out_q;
            always @(posedge clk) begin
                if (copy_zero_of[C]) sums <= {ACC_W{1'b0}};
                else if (copy_go_of[C]) sums <= acc[gl*ACC_W +: ACC_W];
                if (load_of[C]) out_q <= currents[gl*OUT_BITS +: OUT_BITS];
            end
            assign shadow[gl*ACC_W +: ACC_W] = sums;
            assign m_axis_tdata[gl*OUT_BITS +: OUT_BITS] = out_q;
        end
    endgenerate

    // The accumulators: a lane's sum (its ring's head, or zero for a position's first element,
    // plus its dot product) is taken 4 + TREE_LAG cycles after its group is addressed, into the
    // ring's tail as the ring turns.
    genvar gg;
    generate
        for (gt = 0; gt < T_IN; gt = gt + 1) begin : g_acc_step
            for (gp = 0; gp < PE; gp = gp + 1) begin : g_lane
                localparam integer C = (gt*PE + gp) * ACC_COPIES / ACC_LANES;
                // this lane's G accumulators, group g at [g*ACC_W]
                wire [G*ACC_W-1:0] ring;
                wire signed [ACC_W-1:0] head = s2_first_of[C] ? {ACC_W{1'b0}} : ring[0 +: ACC_W];
                wire signed [ACC_W-1:0] total = head + ACC_W'($signed(dot_q[(gt*PE + gp)*DOT_W +: DOT_W]));
                for (gg = 0; gg < G; gg = gg + 1) begin : g_group
                    reg signed [ACC_W-1:0] acc_reg;
                    // the tail takes the sum, the others their successor's value
                    wire [ACC_W-1:0] next;
                    if (gg == G - 1) begin : g_tail
                        assign next = total;
                    end else begin : g_shift
                        assign next = ring[(gg + 1)*ACC_W +: ACC_W];
                    end
                    always @(posedge clk)
                        if (s2_valid_of[C]) acc_reg <= next;
                    assign ring[gg*ACC_W +: ACC_W] = acc_reg;
                    assign acc[(gt*N_OUT + gg*PE + gp)*ACC_W +: ACC_W] = acc_reg;
                end
            end
        end
    endgenerate
endmodule

`resetall
