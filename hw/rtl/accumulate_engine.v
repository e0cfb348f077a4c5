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
// Two banks of accumulators: the next position's elements go into one while the other
// finishes its last accumulate and hands its currents to the output register, so a position
// costs no more than its elements' work.
// Pipeline: the ROM read (block RAM) and its output register (the block RAM's own: its
// clock-to-out would otherwise start the next path), the products and their sum over the
// element's SIMD inputs (registered: the DSPs' own output registers for pixel inputs), the
// accumulate; each ends in registers. A finished bank goes out in three: the output load's
// go, the bank's sums, the currents (sums plus biases).
// Weights: a ROM of N_IN/SIMD * N_OUT/PE words of SIMD x PE codes (input j, output p at
// bits [(j*PE + p)*W_BITS]), read synchronously (block RAM), from WEIGHT_FILE ($readmemh);
// biases from BIAS_FILE. Output lane (t, o) is at t*N_OUT + o.
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
    parameter WEIGHT_FILE = "weights.mem",
    parameter BIAS_FILE = "bias.mem",
    parameter integer INDEX_BITS = ($clog2(N_IN / SIMD) > 0) ? $clog2(N_IN / SIMD) : 1
) (
    input  wire                             clk,
    input  wire                             rst,
    input  wire [1+INDEX_BITS+SIMD*T_IN*IN_BITS-1:0] s_axis_tdata,
    input  wire                             s_axis_tvalid,
    output wire                             s_axis_tready,
    output reg  [T_IN*N_OUT*OUT_BITS-1:0]   m_axis_tdata,
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
    localparam integer WIDE0 = ACC_W + FRAC_BITS;
    localparam integer WIDE1 = (OUT_BITS > BIAS_BITS) ? OUT_BITS : BIAS_BITS;
    localparam integer WIDE = ((WIDE0 > WIDE1) ? WIDE0 : WIDE1) + 1;  // signed working width
    localparam [GW-1:0] LAST_G = GW'(G - 1);

    reg [SIMD*PE*W_BITS-1:0] rom [0:DEPTH-1];
    reg signed [BIAS_BITS-1:0] bias [0:N_OUT-1];
    initial begin
        $readmemh(WEIGHT_FILE, rom);
        $readmemh(BIAS_FILE, bias);
    end

    localparam integer LANES = T_IN * N_OUT;
    // the accumulators, bank b lane (t, o) at [(b*LANES + t*N_OUT + o)*ACC_W]: a register
    // each, written only under its own condition (an indexed array would cost Yosys a wide
    // read and write multiplexer per lane)
    wire [2*LANES*ACC_W-1:0] acc;

    // element state
    reg [X_BITS-1:0]  x_reg;
    reg               busy;        // iterating the groups of one non-zero element
    reg [GW-1:0]      g;
    reg [AW-1:0]      base;        // ROM address of group 0 of the current element
    reg               x_bank;      // bank of the element being iterated
    reg               in_bank;     // bank the next element goes into
    reg               out_bank;    // bank whose currents go out next
    reg [1:0]         bank_done;   // the bank's position has all its elements
    reg [LANES*ACC_W-1:0] sums;    // the output bank's sums, on their way to the currents
    reg               sums_valid;

    // pipeline stage 1: ROM data arrives one cycle after its address (w_rd), and is
    // registered again (w_q)
    reg [SIMD*PE*W_BITS-1:0] w_rd, w_q;
    reg                    s0_valid, s1_valid;
    reg [GW-1:0]           s0_g, s1_g;
    reg [X_BITS-1:0]       s0_x, s1_x;
    reg                    s0_bank, s1_bank;
    // pipeline stage 2: the element's products summed per lane
    reg                    s2_valid;
    reg [GW-1:0]           s2_g;
    reg                    s2_bank;
    reg [T_IN*PE*DOT_W-1:0] dot_q;

    wire [X_BITS-1:0]       in_x = s_axis_tdata[X_BITS-1:0];
    wire [INDEX_BITS-1:0]   in_index = s_axis_tdata[X_BITS +: INDEX_BITS];
    wire                    in_last = s_axis_tdata[X_BITS + INDEX_BITS];
    // the banks' flags chosen by 2:1 multiplexers (an index into bank_done is a shift to Yosys,
    // which made a carry chain of it in front of every flag's enable)
    wire in_bank_done = in_bank ? bank_done[1] : bank_done[0];
    wire out_bank_done = out_bank ? bank_done[1] : bank_done[0];
    assign s_axis_tready = !busy && !in_bank_done;
    wire take = s_axis_tvalid && s_axis_tready;
    wire nonzero = (SKIP_ZEROS == 0) || (in_x != {X_BITS{1'b0}});
    /* verilator lint_off WIDTHEXPAND */
    wire [AW-1:0] in_base = AW'(in_index * G);              // group 0 of the element taken
    /* verilator lint_on WIDTHEXPAND */
    /* verilator lint_off UNUSEDSIGNAL */
    // busy: group g of the element taken earlier; else group 0 of the element at the input
    wire [AW-1:0] rd_addr = busy ? base + {{(AW-GW){1'b0}}, g} : in_base;
    /* verilator lint_on UNUSEDSIGNAL */

    // the output bank is finished when no accumulate of it is pending or in flight; its currents
    // go out into an empty output register (not one being taken: the consumer's ready would
    // then reach this enable of every output and accumulator bit through a chain of modules)
    wire out_ready = out_bank_done && !(busy && x_bank == out_bank) && !(s0_valid && s0_bank == out_bank)
                     && !(s1_valid && s1_bank == out_bank)
                     && !(s2_valid && s2_bank == out_bank)
                     && !sums_valid && !m_axis_tvalid;
    // ... and registered: out_ready stays true until the bank goes out (nothing else enters or
    // leaves it, the output register stays empty), so the currents go out a cycle after it,
    // and the bank's clear and the output register's enable come from a flip-flop
    reg out_go;

    // The output bank's sums, then its currents X[t][o] = (acc << F) + B_o, in two register
    // stages: the bank's choice (a 2:1 multiplexer on every sum bit, its select fanning out to
    // all of them) and the bias's carry chain would otherwise be one path.
    wire [LANES*ACC_W-1:0]         bank_sums;
    wire [T_IN*N_OUT*OUT_BITS-1:0] currents;
    genvar gt, go;
    generate
        for (gt = 0; gt < T_IN; gt = gt + 1) begin : g_step
            for (go = 0; go < N_OUT; go = go + 1) begin : g_current
                // constant part-selects and a 2:1 choice: a variable part-select would be a shifter
                assign bank_sums[(gt*N_OUT + go)*ACC_W +: ACC_W] =
                    out_bank ? acc[(LANES + gt*N_OUT + go)*ACC_W +: ACC_W] : acc[(gt*N_OUT + go)*ACC_W +: ACC_W];
                wire signed [ACC_W-1:0] sum = sums[(gt*N_OUT + go)*ACC_W +: ACC_W];
                // the deploy form bounds |X| to OUT_BITS: the upper working bits are sign copies
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [WIDE-1:0] cur = (WIDE'(sum) <<< FRAC_BITS) + WIDE'(bias[go]);
                /* verilator lint_on UNUSEDSIGNAL */
                assign currents[(gt*N_OUT + go)*OUT_BITS +: OUT_BITS] = cur[OUT_BITS-1:0];
            end
        end
    endgenerate

    // per step and output lane the dot product of the element's SIMD inputs with their
    // weights (an adder tree), registered in dot_q
    wire [DOT_W-1:0] dot [0:T_IN*PE-1];
    genvar gj, gp;
    generate
        for (gt = 0; gt < T_IN; gt = gt + 1) begin : g_dot_step
            for (gp = 0; gp < PE; gp = gp + 1) begin : g_lane
                wire signed [DOT_W-1:0] terms [0:SIMD];
                assign terms[0] = {DOT_W{1'b0}};
                for (gj = 0; gj < SIMD; gj = gj + 1) begin : g_term
                    wire [IN_BITS-1:0]     x = s1_x[(gj*T_IN + gt)*IN_BITS +: IN_BITS];
                    wire [W_BITS-1:0]      code = w_q[(gj*PE + gp)*W_BITS +: W_BITS];
                    wire signed [VW-1:0]   w = $signed({code ^ TOP_BIT, 1'b1});    // 2 code - S
                    wire signed [DOT_W-1:0] product;
                    if (IN_BITS == 1) begin : g_spike     // a spike selects the weight
                        assign product = x[0] ? DOT_W'(w) : {DOT_W{1'b0}};
                    end else begin : g_pixel
                        assign product = $signed({1'b0, x}) * w;
                    end
                    assign terms[gj + 1] = terms[gj] + product;
                end
                assign dot[gt*PE + gp] = terms[SIMD];
                always @(posedge clk) dot_q[(gt*PE + gp)*DOT_W +: DOT_W] <= dot[gt*PE + gp];
            end
        end
    endgenerate


    always @(posedge clk) begin
        w_rd <= rom[rd_addr[RA-1:0]];  // past the end only when nothing uses it
        w_q <= w_rd;
        s0_valid <= busy || (take && nonzero);
        s0_g <= g;
        s0_x <= busy ? x_reg : in_x;
        s0_bank <= busy ? x_bank : in_bank;
        s1_valid <= s0_valid;
        s1_g <= s0_g;
        s1_x <= s0_x;
        s1_bank <= s0_bank;
        s2_valid <= s1_valid;
        s2_g <= s1_g;
        s2_bank <= s1_bank;

        if (take) begin
            if (in_last) begin
                if (in_bank) bank_done[1] <= 1'b1;
                else bank_done[0] <= 1'b1;
                in_bank <= !in_bank;
            end
            if (nonzero) begin
                x_reg <= in_x;
                x_bank <= in_bank;
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

        if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
        // the output bank's sums are final: currents out, the bank cleared for a position
        out_go <= out_ready && !out_go;
        if (out_go) begin
            sums <= bank_sums;
            if (out_bank) bank_done[1] <= 1'b0;
            else bank_done[0] <= 1'b0;
            out_bank <= !out_bank;
        end
        sums_valid <= out_go;
        if (sums_valid) begin       // the output register is empty: out_ready waited for it
            m_axis_tdata <= currents;
            m_axis_tvalid <= 1'b1;
        end

        if (rst) begin
            busy <= 1'b0;
            g <= {GW{1'b0}};
            base <= {AW{1'b0}};
            bank_done <= 2'b00;
            in_bank <= 1'b0;
            out_bank <= 1'b0;
            x_bank <= 1'b0;
            s0_valid <= 1'b0;
            s1_valid <= 1'b0;
            s2_valid <= 1'b0;
            m_axis_tvalid <= 1'b0;
            out_go <= 1'b0;
            sums_valid <= 1'b0;
        end
    end

    // the two banks: a lane takes its dot product three cycles after its group's weights are
    // read; the output bank is cleared as its currents go out
    genvar gb;
    generate
        for (gb = 0; gb < 2; gb = gb + 1) begin : g_bank
            wire clear = rst || (out_go && out_bank == gb[0]);
            for (gt = 0; gt < T_IN; gt = gt + 1) begin : g_step
                for (go = 0; go < N_OUT; go = go + 1) begin : g_lane
                    reg signed [ACC_W-1:0] acc_reg;
                    wire signed [DOT_W-1:0] lane_dot = dot_q[(gt*PE + go % PE)*DOT_W +: DOT_W];
                    always @(posedge clk)
                        if (clear) acc_reg <= {ACC_W{1'b0}};
                        else if (s2_valid && s2_bank == gb[0] && 32'(s2_g) == go / PE)
                            acc_reg <= acc_reg + ACC_W'(lane_dot);
                    assign acc[(gb*LANES + gt*N_OUT + go)*ACC_W +: ACC_W] = acc_reg;
                end
            end
        end
    endgenerate
endmodule

`resetall
