// The readout: the last layer's currents of every time step out, and the class.
//
// One input beat per image holds the STEPS x K currents of BITS (STEPS = 1 when the last
// layer is fed by the analog input: the same current at every step). One output beat per
// image holds the T x K currents sign-extended to LANE-bit lanes (lane t*K + k = class k at
// step t), so every step can be checked, and tuser holds the class: the argmax over k of the
// membrane accumulated over the T steps, sum_t X[t][k], the lowest k on ties.
// SPIKES = 1 (spike-count readout): the beat is the K x T spikes of the last LIF layer
// (bit k*T + t, its output layout), each lane a spike 0/1 and the class the argmax of the
// spike count; BITS must be at least 2 (a spike is a non-negative value).
// CHUNKS > 1: an image comes as CHUNKS beats of T steps each (codegen/rtl.py's passes); each
// goes out as its own beat (tlast low), the sums carried on, and the last pass's beat carries
// the class and tlast.
// The classes are scanned one per cycle, each summed over its steps as it goes: the beat is
// registered as it is taken (the output lanes); a class's T currents are read from there (one
// K-way choice), summed by a tree of adders with a register after each level (adder_tree,
// LEVELS = clog2(T)), added to the class's sum of the passes before (a ring of K sums that turns once
// per class, so the class's own sum is always at its head: no choice), compared with the best
// so far and with the class before (whose update may still be in flight: both comparisons at
// once, the right one chosen after, so no choice sits in front of a comparator's carry chain),
// and the best updated: one adder per tree node and one for the passes, two comparators,
// whatever K is. A pass's beat goes out
// K + LEVELS + 1 cycles after its take, the last pass's (with the class) K + LEVELS + 3.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module readout #(
    parameter integer K = 10,
    parameter integer T = 4,
    parameter integer STEPS = 4,            // T, or 1 for the same current at every step
    parameter integer BITS = 16,
    parameter integer LANE = 16,
    parameter integer CLASS_BITS = 4,       // holds K - 1
    parameter integer SPIKES = 0,           // 1: the input is spikes, the class their count's argmax
    parameter integer CHUNKS = 1,           // beats (passes of T steps) per image
    parameter integer IN_BITS = (SPIKES != 0) ? K * T : STEPS * K * BITS
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [IN_BITS-1:0]        s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output wire                      s_axis_tready,
    output reg  [T*K*LANE-1:0]       m_axis_tdata,
    output reg  [CLASS_BITS-1:0]     m_axis_tuser,
    output reg                       m_axis_tvalid,
    output wire                      m_axis_tlast,
    input  wire                      m_axis_tready
);
    localparam integer LEVELS = (T > 1) ? $clog2(T) : 0;
    localparam integer SUM_W = BITS + $clog2(CHUNKS * T + 1);       // ... over all passes
    localparam integer KW = (K > 1) ? $clog2(K) : 1;                // indexes the classes
    localparam [KW-1:0] LAST_K = KW'(K - 1);

    reg                    reading;     // reading class k_read's currents into the tree's level 0
    reg [KW-1:0]           k_read;
    reg [LEVELS:0]         level_valid;     // level l holds a class
    reg [KW-1:0]           level_k [0:LEVELS];
    reg                    cand_valid;  // a class's sum over the passes so far
    reg                    cand_last;
    reg [KW-1:0]           cand_k;
    reg signed [SUM_W-1:0] cand;
    reg                    cand_first;  // ... class 0's
    reg                    better_valid;    // the class compared in the cycle before: update
    reg                    better;          // ... and it is the best so far (better_valid with it)
    reg                    prev_last;
    reg [KW-1:0]           prev_k;
    reg signed [SUM_W-1:0] prev;            // its sum
    reg signed [SUM_W-1:0] best;

    assign s_axis_tready = !reading && level_valid == {(LEVELS+1){1'b0}} && !cand_valid && !better_valid
                           && !m_axis_tvalid;
    wire take = s_axis_tvalid && s_axis_tready;

    // the lanes of the incoming beat
    wire [T*K*LANE-1:0] lanes;
    wire [T*BITS-1:0] class_steps;         // class k_read's T currents
    genvar gt, gk;
    generate
        for (gk = 0; gk < K; gk = gk + 1) begin : g_class
            for (gt = 0; gt < T; gt = gt + 1) begin : g_step
                wire signed [BITS-1:0] v;
                if (SPIKES != 0) begin : g_spike
                    assign v = BITS'(s_axis_tdata[gk*T + gt]);
                end else begin : g_current
                    localparam integer SRC = ((STEPS == 1) ? 0 : gt) * K + gk;
                    assign v = s_axis_tdata[SRC*BITS +: BITS];
                end
                assign lanes[(gt*K + gk)*LANE +: LANE] = {{(LANE-BITS){v[BITS-1]}}, v};
            end
        end

        // class k_read's current of each step from the registered lanes (a K-way choice each),
        // summed by a registered tree: level 0 is this choice registered
        for (gt = 0; gt < T; gt = gt + 1) begin : g_read
            wire [BITS-1:0] step_values [0:K-1];      // the step's current of each class
            for (gk = 0; gk < K; gk = gk + 1) begin : g_of_class
                assign step_values[gk] = m_axis_tdata[(gt*K + gk)*LANE +: BITS];
            end
            assign class_steps[gt*BITS +: BITS] = step_values[k_read];
        end
    endgenerate

    wire signed [SUM_W-1:0] pass_sum;        // the class's sum over this pass's steps
    adder_tree #(.N(T), .W(BITS), .REGISTER_INPUTS(1), .SUM_W(SUM_W)) u_steps (
        .clk(clk), .terms(class_steps), .sum(pass_sum));

    // the pass of the beat taken last: the sums start at its first, the class follows its last;
    // the sums of the passes before in a ring of K that turns as each class's sum is formed
    wire last_pass;
    wire signed [SUM_W-1:0] carried;
    wire signed [SUM_W-1:0] total = carried + pass_sum;     // the class's sum so far
    generate
        if (CHUNKS > 1) begin : g_passes
            localparam integer CW = $clog2(CHUNKS);
            reg [CW-1:0] pass;
            always @(posedge clk)
                if (rst) pass <= CW'(CHUNKS - 1);
                else if (take) pass <= (pass == CW'(CHUNKS - 1)) ? {CW{1'b0}} : pass + 1'b1;
            wire first_pass = pass == {CW{1'b0}};
            assign last_pass = pass == CW'(CHUNKS - 1);
            reg signed [SUM_W-1:0] ring [0:K-1];
            integer r;
            always @(posedge clk)
                if (level_valid[LEVELS]) begin
                    for (r = 0; r < K - 1; r = r + 1) ring[r] <= ring[r+1];
                    ring[K-1] <= total;
                end
            assign carried = first_pass ? {SUM_W{1'b0}} : ring[0];
        end else begin : g_one_pass
            assign last_pass = 1'b1;
            assign carried = {SUM_W{1'b0}};
        end
    endgenerate
    assign m_axis_tlast = last_pass;

    // the comparison sees the best after the update still in flight (the class before): both
    // candidates compared at once, the comparison's result chosen after (a choice in front of
    // the comparator was the readout's longest path: 9.8 ns)
    wire beats_prev = cand > prev;
    wire beats_best = cand > best;
    wire beats = better ? beats_prev : beats_best;

    integer l;
    always @(posedge clk) begin
        if (take) begin
            m_axis_tdata <= lanes;
            reading <= 1'b1;
            k_read <= {KW{1'b0}};
        end
        if (reading) begin
            k_read <= k_read + 1'b1;
            if (k_read == LAST_K) reading <= 1'b0;
        end
        level_valid <= (level_valid << 1) | (LEVELS+1)'(reading);
        level_k[0] <= k_read;
        for (l = 1; l <= LEVELS; l = l + 1) level_k[l] <= level_k[l-1];

        cand_valid <= level_valid[LEVELS] && last_pass;
        if (level_valid[LEVELS]) begin
            cand <= total;
            cand_k <= level_k[LEVELS];
            cand_first <= level_k[LEVELS] == {KW{1'b0}};
            cand_last <= level_k[LEVELS] == LAST_K;
            if (level_k[LEVELS] == LAST_K && !last_pass)    // the pass's currents out, no class yet
                m_axis_tvalid <= 1'b1;
        end

        better_valid <= cand_valid;
        better <= cand_valid && (cand_first || beats);
        if (cand_valid) begin
            prev <= cand;
            prev_k <= cand_k;
            prev_last <= cand_last;
        end
        if (better) begin
            best <= prev;
            m_axis_tuser <= CLASS_BITS'(prev_k);
        end
        if (better_valid && prev_last) m_axis_tvalid <= 1'b1;

        if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;

        if (rst) begin
            reading <= 1'b0;
            level_valid <= {(LEVELS+1){1'b0}};
            cand_valid <= 1'b0;
            better_valid <= 1'b0;
            better <= 1'b0;
            m_axis_tvalid <= 1'b0;
        end
    end
endmodule

`resetall
