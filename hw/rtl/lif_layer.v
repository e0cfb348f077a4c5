// N leaky integrate-and-fire neurons of one position (a pixel's channels, or a dense layer),
// all T time steps at once: one input beat holds the currents, one output beat the spikes.
// Each neuron is a chain of T lif_units starting from rest, so membranes never leave the
// stage and nothing carries from one position or image to the next.
// Input lane (t, n) at t*N + n, X_STEPS = T, or X_STEPS = 1 for a current that is the same at
// every step (direct encoding). Output bit (n, t) at n*T + t: neuron n's T spikes together,
// the element the next layer consumes. Thresholds per channel: neuron n uses theta[n % C].
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
    reg signed [U_BITS-1:0] theta [0:C-1];
    initial $readmemh(THRESHOLD_FILE, theta);

    wire [N*T-1:0] spikes;
    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
    wire take = s_axis_tvalid && s_axis_tready;

    genvar n, t;
    generate
        for (n = 0; n < N; n = n + 1) begin : g_neuron
            // u[t]: membrane before step t; the last one is not needed (the next position
            // starts from rest)
            /* verilator lint_off UNUSEDSIGNAL */
            wire signed [U_BITS-1:0] u [0:T];
            /* verilator lint_on UNUSEDSIGNAL */
            assign u[0] = {U_BITS{1'b0}};
            for (t = 0; t < T; t = t + 1) begin : g_step
                localparam integer XT = (X_STEPS == 1) ? 0 : t;
                lif_unit #(
                    .X_BITS(X_BITS), .U_BITS(U_BITS), .LEAK_SHIFT(LEAK_SHIFT), .SOFT_RESET(SOFT_RESET)
                ) u_lif (
                    .u(u[t]),
                    .x(s_axis_tdata[(XT*N + n)*X_BITS +: X_BITS]),
                    .theta(theta[n % C]),
                    .u_next(u[t+1]),
                    .spike(spikes[n*T + t])
                );
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (take) begin
            m_axis_tdata <= spikes;
            m_axis_tvalid <= 1'b1;
        end else if (m_axis_tready) begin
            m_axis_tvalid <= 1'b0;
        end
        if (rst) m_axis_tvalid <= 1'b0;
    end
endmodule

`resetall
