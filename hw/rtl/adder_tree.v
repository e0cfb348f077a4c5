// The sum of N signed values of W bits by a balanced tree of N - 1 adders: ceil(log2 N) adders
// deep (a chain of N - 1 in a row was the accumulate engine's longest path at SIMD 16: 30 ns),
// each level one bit wider than the one before (W + l bits at level l), so the leaves' adders
// are the narrow ones. Every level of adders ends in registers (one adder on any path: a tree
// left combinational was merged by Yosys' synth_ecp5 into one sum built from LUTs, 31 ns at
// 16 inputs), a new set taken every cycle; REGISTER_INPUTS = 1 registers the inputs too (the
// readout's choice among its classes; the engine's products come from registers already).
// The sum is out LEVELS + REGISTER_INPUTS clock edges after its inputs (N = 1 without input
// register: the input itself).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module adder_tree #(
    parameter integer N = 4,
    parameter integer W = 8,
    parameter integer REGISTER_INPUTS = 0,
    parameter integer LEVELS = (N > 1) ? $clog2(N) : 0,
    parameter integer SUM_W = W + LEVELS
) (
    /* verilator lint_off UNUSEDSIGNAL */      // (N = 1 without input register: none)
    input  wire               clk,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [N*W-1:0]     terms,
    output wire [SUM_W-1:0]   sum
);
    function integer nodes_at(input integer level);
        nodes_at = (N + (1 << level) - 1) >> level;
    endfunction

    genvar gl, gi;
    generate
        for (gl = 0; gl <= LEVELS; gl = gl + 1) begin : g_level
            localparam integer NW = W + gl;             // a node of this level
            localparam integer NN = nodes_at(gl);
            wire [NN*NW-1:0] node;          // the level's values, as the next level reads them
            wire [NN*NW-1:0] formed;        // ... as formed from the level before
            if (gl == 0) begin : g_inputs
                assign formed = terms;
            end else begin : g_adders
                localparam integer PW = NW - 1;         // the level before's nodes
                localparam integer PN = nodes_at(gl - 1);
                for (gi = 0; gi < NN; gi = gi + 1) begin : g_node
                    wire signed [PW-1:0] a = g_level[gl-1].node[2*gi*PW +: PW];
                    if (2 * gi + 1 < PN) begin : g_pair
                        wire signed [PW-1:0] b = g_level[gl-1].node[(2*gi+1)*PW +: PW];
                        assign formed[gi*NW +: NW] = NW'(a) + NW'(b);
                    end else begin : g_odd          // handed on
                        assign formed[gi*NW +: NW] = NW'(a);
                    end
                end
            end
            if (gl > 0 || REGISTER_INPUTS != 0) begin : g_register
                reg [NN*NW-1:0] q;
                always @(posedge clk) q <= formed;
                assign node = q;
            end else begin : g_wire
                assign node = formed;
            end
        end
    endgenerate

    // SUM_W below W + LEVELS: the caller knows the sum fits (its top bits are sign copies)
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [W+LEVELS-1:0] root = g_level[LEVELS].node;
    /* verilator lint_on UNUSEDSIGNAL */
    assign sum = SUM_W'(root);
endmodule

`resetall
