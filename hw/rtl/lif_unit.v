// One leaky integrate-and-fire neuron update, combinational.
//   u~ = (u >>> LEAK_SHIFT) + x          (tau = 2^-LEAK_SHIFT; arithmetic shift = floor)
//   spike = (u~ >= theta)
//   u' = spike ? (SOFT_RESET ? u~ - theta : 0) : u~
`resetall
`timescale 1ns / 1ps
`default_nettype none

module lif_unit #(
    parameter integer X_BITS = 16,      // input current width (signed)
    parameter integer U_BITS = 18,      // membrane width (signed), >= X_BITS
    parameter integer LEAK_SHIFT = 1,
    parameter integer SOFT_RESET = 0
) (
    input  wire signed [U_BITS-1:0]  u,
    input  wire signed [X_BITS-1:0]  x,
    input  wire signed [U_BITS-1:0]  theta,
    output wire signed [U_BITS-1:0]  u_next,
    output wire                      spike
);
    // every operand signed: one unsigned operand would turn >>> into a logical shift
    wire signed [U_BITS-1:0] x_ext = $signed({{(U_BITS-X_BITS){x[X_BITS-1]}}, x});
    wire signed [U_BITS-1:0] u_int = (u >>> LEAK_SHIFT) + x_ext;
    assign spike = (u_int >= theta);
    assign u_next = spike ? (SOFT_RESET != 0 ? u_int - theta : {U_BITS{1'b0}}) : u_int;
endmodule

`resetall
