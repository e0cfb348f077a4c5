// N leaky integrate-and-fire neurons of one position (a pixel's channels, or a dense layer),
// all T time steps at once: one input beat holds the currents, one output beat the spikes.
// Each neuron is a chain of T lif_units starting from rest, so membranes never leave the
// stage and nothing carries from one position or image to the next.
// Input lane (t, n) at t*N + n, X_STEPS = T, or X_STEPS = 1 for a current that is the same at
// every step (direct encoding). Output bit (n, t) at n*T + t: neuron n's T spikes together,
// the element the next layer consumes. Thresholds per channel: neuron n uses theta[n % C].
// STAGES (1..T) cuts the chains into that many register stages, step t in stage
// floor(t * STAGES / T): a beat takes STAGES cycles instead of one, a beat still enters every
// cycle, and the longest combinational path is ceil(T / STAGES) neuron updates instead of T
// (the chain is the accelerator's critical path at STAGES = 1). A stage's register takes the
// beat before it when it is empty or its own beat moves on (a stalled output does not hold
// the bubbles behind it): with a consumer that takes a beat every cycle it is free, a beat
// leaves exactly STAGES cycles after it entered, whatever the stalls before. A skid register
// at the output keeps the consumer's ready off the stage registers' enables.
// Each stage register also holds x - theta for its own steps (lif_unit: the spike from a
// second adder beside the membrane's, not after it), so a neuron update is one adder deep.
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
    parameter integer SOFT_RESET = 0,
    parameter integer STAGES = 1,        // register stages, 1..T
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
    localparam integer XW = X_STEPS * N * X_BITS;
    localparam integer UW = N * U_BITS;
    localparam integer NT = N * T;

    reg signed [U_BITS-1:0] theta [0:C-1];
    initial $readmemh(THRESHOLD_FILE, theta);

    // register k (1..STAGES-1 between the stages, STAGES the output side) may take a beat. The
    // output side is the output register and a skid register behind it: the last stage hands
    // its beat on whenever the skid is empty (to the output, or to the skid while the output
    // is stalled), so the enables of the stage registers come from registers here, not from
    // the consumer's ready
    wire [STAGES:1] take;
    reg [NT-1:0] skid_data;
    reg          skid_valid;
    assign take[STAGES] = !skid_valid;
    assign s_axis_tready = take[1];

    // What stage k starts from (slice k): the beat's currents, the membranes after the steps
    // of the stages before it, their spikes, and whether it holds a beat. Slice 0 is the
    // input; slice k > 0 the registers between stage k-1 and stage k.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [STAGES*XW-1:0] x_at;       // a stage reads only its own steps' currents
    wire [STAGES*UW-1:0] u_after;    // the last stage's membranes are not needed
    wire [STAGES*NT-1:0] s_at;       // with one stage nothing is handed on
    /* verilator lint_on UNUSEDSIGNAL */
    localparam integer XDW = ((T + STAGES - 1) / STAGES) * N * (U_BITS + 1);   // a stage's x - theta
    /* verilator lint_off UNUSEDSIGNAL */
    wire [STAGES*XDW-1:0] xd_at;     // per stage k > 0: registered x - theta of its steps
    /* verilator lint_on UNUSEDSIGNAL */
    wire [STAGES*UW-1:0] u_at;
    wire [STAGES*NT-1:0] s_after;
    wire [STAGES-1:0] v_at;
    assign x_at[0 +: XW] = s_axis_tdata;
    assign xd_at[0 +: XDW] = {XDW{1'b0}};     // stage 0 subtracts from the input itself
    assign u_at[0 +: UW] = {UW{1'b0}};
    assign s_at[0 +: NT] = {NT{1'b0}};
    assign v_at[0] = s_axis_tvalid;

    // x - theta of neuron n, U_BITS + 1 wide (lif_unit's second adder takes it)
    function automatic signed [U_BITS:0] minus_theta(input signed [X_BITS-1:0] x, input integer n);
        minus_theta = (U_BITS+1)'(x) - (U_BITS+1)'(theta[n % C]);
    endfunction

    genvar k, n, t;
    generate
        for (k = 1; k < STAGES; k = k + 1) begin : g_stage_reg
            localparam integer FIRST = (k * T + STAGES - 1) / STAGES;             // its steps
            localparam integer STEPS_HERE = ((k + 1) * T + STAGES - 1) / STAGES - FIRST;
            reg [STEPS_HERE*N*(U_BITS+1)-1:0] xd_q;    // x - theta of its steps, per neuron
            for (t = 0; t < STEPS_HERE; t = t + 1) begin : g_step
                localparam integer XT = (X_STEPS == 1) ? 0 : FIRST + t;
                for (n = 0; n < N; n = n + 1) begin : g_neuron
                    wire signed [X_BITS-1:0] x = x_at[(k-1)*XW + (XT*N + n)*X_BITS +: X_BITS];
                    always @(posedge clk)
                        if (take[k]) xd_q[(t*N + n)*(U_BITS+1) +: U_BITS+1] <= minus_theta(x, n);
                end
            end
            assign xd_at[k*XDW +: XDW] = XDW'(xd_q);
            reg [XW-1:0] x_q;
            reg [UW-1:0] u_q;
            reg [NT-1:0] s_q;
            reg v_q;
            assign take[k] = !v_q || take[k + 1];
            always @(posedge clk) begin
                if (take[k]) begin
                    x_q <= x_at[(k-1)*XW +: XW];
                    u_q <= u_after[(k-1)*UW +: UW];
                    s_q <= s_after[(k-1)*NT +: NT];
                    v_q <= v_at[k-1];
                end
                if (rst) v_q <= 1'b0;
            end
            assign x_at[k*XW +: XW] = x_q;
            assign u_at[k*UW +: UW] = u_q;
            assign s_at[k*NT +: NT] = s_q;
            assign v_at[k] = v_q;
        end

        for (n = 0; n < N; n = n + 1) begin : g_neuron
            wire signed [U_BITS-1:0] u_next [0:T-1];     // membrane after step t
            for (t = 0; t < T; t = t + 1) begin : g_step
                localparam integer XT = (X_STEPS == 1) ? 0 : t;
                localparam integer G = (t * STAGES) / T;                   // the step's stage
                localparam integer FIRST = (G * T + STAGES - 1) / STAGES;   // that stage's first step
                wire signed [U_BITS-1:0] u_in;
                if (t == FIRST) begin : g_from_stage
                    assign u_in = $signed(u_at[G*UW + n*U_BITS +: U_BITS]);
                end else begin : g_from_chain
                    assign u_in = u_next[t-1];
                end
                // x - theta: registered with the stage's currents, or (stage 0) from the input
                wire signed [U_BITS:0] xd;
                if (G == 0) begin : g_xd_input
                    assign xd = minus_theta(x_at[(XT*N + n)*X_BITS +: X_BITS], n);
                end else begin : g_xd_reg
                    assign xd = xd_at[G*XDW + ((t - FIRST)*N + n)*(U_BITS+1) +: U_BITS+1];
                end
                lif_unit #(
                    .X_BITS(X_BITS), .U_BITS(U_BITS), .LEAK_SHIFT(LEAK_SHIFT), .SOFT_RESET(SOFT_RESET)
                ) u_lif (
                    .u(u_in),
                    .x(x_at[G*XW + (XT*N + n)*X_BITS +: X_BITS]),
                    .xd(xd),
                    .u_next(u_next[t]),
                    .spike(s_after[G*NT + n*T + t])
                );
                for (k = 0; k < STAGES; k = k + 1) begin : g_pass
                    if (k != G) begin : g_copy      // the other stages hand this step's spike on
                        assign s_after[k*NT + n*T + t] = s_at[k*NT + n*T + t];
                    end
                end
            end
            for (k = 0; k < STAGES; k = k + 1) begin : g_membrane_out
                localparam integer LAST = ((k + 1) * T + STAGES - 1) / STAGES - 1;   // the stage's last step
                assign u_after[k*UW + n*U_BITS +: U_BITS] = u_next[LAST];
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (!m_axis_tvalid || m_axis_tready) begin      // the output register is free
            if (skid_valid) begin
                m_axis_tdata <= skid_data;
                m_axis_tvalid <= 1'b1;
                skid_valid <= 1'b0;
            end else begin
                m_axis_tdata <= s_after[(STAGES-1)*NT +: NT];
                m_axis_tvalid <= v_at[STAGES-1];
            end
        end else if (!skid_valid && v_at[STAGES-1]) begin
            skid_data <= s_after[(STAGES-1)*NT +: NT];
            skid_valid <= 1'b1;
        end
        if (rst) begin
            m_axis_tvalid <= 1'b0;
            skid_valid <= 1'b0;
        end
    end
endmodule

`resetall
