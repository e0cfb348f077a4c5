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
// The argmax scans one class per cycle (one comparator whatever K is): K + 1 cycles per image.
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
    input  wire                      m_axis_tready
);
    localparam integer SUM_W = BITS + $clog2(T + 1);
    localparam integer KW = (K > 1) ? $clog2(K) : 1;     // indexes the classes
    localparam [KW-1:0] LAST_K = KW'(K - 1);

    reg signed [SUM_W-1:0] sums [0:K-1];
    reg                    scanning;
    reg [KW-1:0]           k_scan;
    reg signed [SUM_W-1:0] best;

    assign s_axis_tready = !scanning && !m_axis_tvalid;
    wire take = s_axis_tvalid && s_axis_tready;

    // lanes and sums of the incoming beat
    wire [T*K*LANE-1:0] lanes;
    wire signed [SUM_W-1:0] beat_sum [0:K-1];
    genvar gt, gk;
    generate
        for (gk = 0; gk < K; gk = gk + 1) begin : g_class
            wire signed [SUM_W-1:0] partial [0:T];
            assign partial[0] = {SUM_W{1'b0}};
            for (gt = 0; gt < T; gt = gt + 1) begin : g_step
                wire signed [BITS-1:0] v;
                if (SPIKES != 0) begin : g_spike
                    assign v = BITS'(s_axis_tdata[gk*T + gt]);
                end else begin : g_current
                    localparam integer SRC = ((STEPS == 1) ? 0 : gt) * K + gk;
                    assign v = s_axis_tdata[SRC*BITS +: BITS];
                end
                assign lanes[(gt*K + gk)*LANE +: LANE] = {{(LANE-BITS){v[BITS-1]}}, v};
                assign partial[gt + 1] = partial[gt] + SUM_W'(v);
            end
            assign beat_sum[gk] = partial[T];
        end
    endgenerate

    integer k;
    always @(posedge clk) begin
        if (take) begin
            m_axis_tdata <= lanes;
            for (k = 0; k < K; k = k + 1) sums[k] <= beat_sum[k];
            scanning <= 1'b1;
            k_scan <= {KW{1'b0}};
        end

        if (scanning) begin
            if (k_scan == {KW{1'b0}} || sums[k_scan] > best) begin
                best <= sums[k_scan];
                m_axis_tuser <= CLASS_BITS'(k_scan);
            end
            if (k_scan == LAST_K) begin
                scanning <= 1'b0;
                m_axis_tvalid <= 1'b1;
            end
            k_scan <= k_scan + 1'b1;
        end

        if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;

        if (rst) begin
            scanning <= 1'b0;
            m_axis_tvalid <= 1'b0;
        end
    end
endmodule

`resetall
