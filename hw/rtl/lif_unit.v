// One leaky integrate-and-fire neuron update, combinational.
//   u~ = (u >>> LEAK_SHIFT) + x          (tau = 2^-LEAK_SHIFT; arithmetic shift = floor)
//   u~ = u - (u >>> LEAK_SHIFT) + x      (LEAK_COMPLEMENT: tau = 1 - 2^-LEAK_SHIFT, the slow
//                                         leaks; one more adder in front)
//   spike = (u~ >= theta)
//   u' = spike ? (SOFT_RESET ? u~ - theta : 0) : u~
// The comparison comes from a second adder beside the first, d = (u >>> LEAK_SHIFT) + xd with
// xd = x - theta given (lif_layer registers it), so an update is one adder deep: spike is
// d >= 0, and d is also the soft reset's u~ - theta.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module lif_unit #(
    parameter integer X_BITS = 16,      // input current width (signed)
    parameter integer U_BITS = 18,      // membrane width (signed), >= X_BITS
    parameter integer LEAK_SHIFT = 1,
    parameter integer LEAK_COMPLEMENT = 0,
    parameter integer SOFT_RESET = 0
) (
    input  wire signed [U_BITS-1:0]  u,
    input  wire signed [X_BITS-1:0]  x,
    input  wire signed [U_BITS:0]    xd,     // x - theta
    output wire signed [U_BITS-1:0]  u_next,
    output wire                      spike
);
    // every operand signed: one unsigned operand would turn >>> into a logical shift
    wire signed [U_BITS-1:0] x_ext = $signed({{(U_BITS-X_BITS){x[X_BITS-1]}}, x});
    wire signed [U_BITS-1:0] shifted = u >>> LEAK_SHIFT;
    wire signed [U_BITS-1:0] leaked = (LEAK_COMPLEMENT != 0) ? u - shifted : shifted;
    wire signed [U_BITS-1:0] u_int = leaked + x_ext;
    // u~ - theta: both fit U_BITS signed, so their difference fits U_BITS + 1
    wire signed [U_BITS:0] d = $signed({leaked[U_BITS-1], leaked}) + xd;
    assign spike = !d[U_BITS];
    assign u_next = spike ? (SOFT_RESET != 0 ? d[U_BITS-1:0] : {U_BITS{1'b0}}) : u_int;
endmodule

`resetall
