// A layer of N LIF neurons: one input beat = the currents of all N neurons at one time step,
// one output beat = their N spikes. Membranes live in registers; a step counter starts each
// image (every T beats) from rest. Thresholds are per channel (neuron n uses theta[n % C]).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module lif_layer #(
    parameter integer N = 8,
    parameter integer C = 8,
    parameter integer T = 4,
    parameter integer X_BITS = 16,
    parameter integer U_BITS = 18,
    parameter integer LEAK_SHIFT = 1,
    parameter integer SOFT_RESET = 0,
    parameter THRESHOLD_FILE = "threshold.mem"
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire [N*X_BITS-1:0]  s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    output reg  [N-1:0]         m_axis_tdata,
    output reg                  m_axis_tvalid,
    input  wire                 m_axis_tready
);
    localparam integer TW = (T > 1) ? $clog2(T) : 1;
    localparam [TW-1:0] LAST_STEP = TW'(T - 1);

    reg signed [U_BITS-1:0] theta [0:C-1];
    initial $readmemh(THRESHOLD_FILE, theta);

    reg signed [U_BITS-1:0] membrane [0:N-1];
    reg [TW-1:0] step;

    wire signed [U_BITS-1:0] u_next [0:N-1];
    wire [N-1:0] spikes;
    wire take = s_axis_tvalid && s_axis_tready;
    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    genvar n;
    generate
        for (n = 0; n < N; n = n + 1) begin : g_neuron
            lif_unit #(
                .X_BITS(X_BITS), .U_BITS(U_BITS), .LEAK_SHIFT(LEAK_SHIFT), .SOFT_RESET(SOFT_RESET)
            ) u_lif (
                .first(step == 0),
                .u(membrane[n]),
                .x(s_axis_tdata[n*X_BITS +: X_BITS]),
                .theta(theta[n % C]),
                .u_next(u_next[n]),
                .spike(spikes[n])
            );
        end
    endgenerate

    integer k;
    always @(posedge clk) begin
        if (take) begin
            for (k = 0; k < N; k = k + 1) membrane[k] <= u_next[k];
            m_axis_tdata <= spikes;
            step <= (step == LAST_STEP) ? {TW{1'b0}} : step + 1'b1;
        end
        if (take) m_axis_tvalid <= 1'b1;
        else if (m_axis_tready) m_axis_tvalid <= 1'b0;
        if (rst) begin
            step <= {TW{1'b0}};
            m_axis_tvalid <= 1'b0;
        end
    end
endmodule

`resetall
