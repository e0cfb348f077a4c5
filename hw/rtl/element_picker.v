// The next element of a vector to send on an element stream (combinational).
//
// Candidates are the elements at or after FROM that are non-zero (all of them when
// SKIP_ZEROS = 0), and the vector's last element when FORCE_LAST is set: the last element of
// an engine's input carries tlast, so it is always sent, zero or not. POS is the lowest
// candidate, MORE says whether another candidate follows it. Shared by conv_window and
// vector_serializer: in event mode they skip a whole vector's zeros in the cycle they see it.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module element_picker #(
    parameter integer N = 8,
    parameter integer ELEM_BITS = 1,
    parameter integer SKIP_ZEROS = 1,
    parameter integer IW = (N > 1) ? $clog2(N) : 1
) (
    input  wire [N*ELEM_BITS-1:0] vec,
    input  wire [IW-1:0]          from,
    input  wire                   force_last,
    output wire                   found,
    output reg  [IW-1:0]          pos,
    output wire                   more
);
    wire [N-1:0] cand;
    wire [N-1:0] at_or_after = {N{1'b1}} << from;
    genvar gi;
    generate
        for (gi = 0; gi < N; gi = gi + 1) begin : g_cand
            wire wanted = (SKIP_ZEROS == 0) || (vec[gi*ELEM_BITS +: ELEM_BITS] != {ELEM_BITS{1'b0}})
                          || (force_last && gi == N - 1);
            assign cand[gi] = wanted && at_or_after[gi];
        end
    endgenerate

    wire [N-1:0] lowest = cand & (~cand + 1'b1);   // the lowest set bit alone
    assign found = |cand;
    assign more = |(cand & ~lowest);

    integer i;
    always @* begin
        pos = {IW{1'b0}};
        for (i = 0; i < N; i = i + 1)
            if (lowest[i]) pos = IW'(i);
    end
endmodule

`resetall
