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
// Timing: the beat is registered as it is taken (the output lanes), the sums are then
// accumulated one step per cycle from those registers (one adder per class, T cycles), and
// the argmax scans one class every two cycles, in three register stages (the class read, its
// comparison with the best so far, the best updated by the comparison's registered result: one
// comparator whatever K is, and no path from the comparison's carry chain through the update's
// enables, which was the readout's longest path alone: 8.6 ns): T + 2K + 2 cycles from the
// beat to the class.
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
    localparam integer SUM_W = BITS + $clog2(CHUNKS * T + 1);
    localparam integer KW = (K > 1) ? $clog2(K) : 1;     // indexes the classes
    localparam [KW-1:0] LAST_K = KW'(K - 1);

    localparam integer TW = (T > 1) ? $clog2(T) : 1;     // indexes the steps
    localparam [TW-1:0] LAST_T = TW'(T - 1);

    reg signed [SUM_W-1:0] sums [0:K-1];
    reg                    summing;     // adding step t_sum of the beat to the sums
    reg [TW-1:0]           t_sum;
    reg                    scanning;    // reading class k_scan (every other cycle: scan_wait low)
    reg                    scan_wait;
    reg [KW-1:0]           k_scan;
    reg                    cand_valid;  // the class read in the cycle before, to compare
    reg                    cand_last;
    reg [KW-1:0]           cand_k;
    reg signed [SUM_W-1:0] cand;
    reg                    better_valid;    // cand compared in the cycle before: update
    reg                    better;          // ... and it is the best so far
    reg signed [SUM_W-1:0] best;

    assign s_axis_tready = !summing && !scanning && !cand_valid && !better_valid && !m_axis_tvalid;
    wire take = s_axis_tvalid && s_axis_tready;

    // the pass of the beat taken last: the sums start at its first, the class follows its last
    wire first_pass, last_pass;
    generate
        if (CHUNKS > 1) begin : g_passes
            localparam integer CW = $clog2(CHUNKS);
            reg [CW-1:0] pass;
            always @(posedge clk)
                if (rst) pass <= CW'(CHUNKS - 1);
                else if (take) pass <= (pass == CW'(CHUNKS - 1)) ? {CW{1'b0}} : pass + 1'b1;
            assign first_pass = pass == {CW{1'b0}};
            assign last_pass = pass == CW'(CHUNKS - 1);
        end else begin : g_one_pass
            assign first_pass = 1'b1;
            assign last_pass = 1'b1;
        end
    endgenerate
    assign m_axis_tlast = last_pass;


    // the lanes of the incoming beat
    wire [T*K*LANE-1:0] lanes;
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
            // step t_sum of class k from the registered lanes: a T-way multiplexer, one adder
            reg signed [BITS-1:0] step_value;     // a lane's value: its low BITS
            integer j;
            always @* begin
                step_value = m_axis_tdata[gk*LANE +: BITS];
                for (j = 1; j < T; j = j + 1)
                    if (t_sum == TW'(j)) step_value = m_axis_tdata[(j*K + gk)*LANE +: BITS];
            end
            always @(posedge clk)
                if (summing)
                    sums[gk] <= (t_sum == {TW{1'b0}} && first_pass ? {SUM_W{1'b0}} : sums[gk]) + SUM_W'(step_value);
        end
    endgenerate

    always @(posedge clk) begin
        if (take) begin
            m_axis_tdata <= lanes;
            summing <= 1'b1;
            t_sum <= {TW{1'b0}};
        end
        if (summing) begin
            t_sum <= t_sum + 1'b1;
            if (t_sum == LAST_T && !last_pass) begin    // the pass's currents out, no class yet
                summing <= 1'b0;
                m_axis_tvalid <= 1'b1;
            end
            if (t_sum == LAST_T && last_pass) begin
                summing <= 1'b0;
                scanning <= 1'b1;
                scan_wait <= 1'b0;
                k_scan <= {KW{1'b0}};
            end
        end

        // a class read while the one before is updated: cand is read for the update before
        // this edge replaces it
        cand_valid <= scanning && !scan_wait;
        if (scanning) scan_wait <= !scan_wait;
        if (scanning && !scan_wait) begin
            cand <= sums[k_scan];
            cand_k <= k_scan;
            cand_last <= k_scan == LAST_K;
            if (k_scan == LAST_K) scanning <= 1'b0;
            k_scan <= k_scan + 1'b1;
        end
        better_valid <= cand_valid;
        if (cand_valid) better <= cand_k == {KW{1'b0}} || cand > best;
        if (better_valid) begin
            if (better) begin
                best <= cand;
                m_axis_tuser <= CLASS_BITS'(cand_k);
            end
            if (cand_last) m_axis_tvalid <= 1'b1;
        end

        if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;

        if (rst) begin
            summing <= 1'b0;
            scanning <= 1'b0;
            cand_valid <= 1'b0;
            better_valid <= 1'b0;
            m_axis_tvalid <= 1'b0;
        end
    end
endmodule

`resetall
