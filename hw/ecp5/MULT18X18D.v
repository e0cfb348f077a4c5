// Behavioural simulation model of the Lattice ECP5 MULT18X18D (sysDSP 18x18 multiplier) for the
// gate-level check of the synthesized netlist (qpsnn netlist). Yosys ships this primitive only as
// a black box (ecp5/cells_bb.v; its cells_sim.v has no model), so the project owns this one.
//
// Modelled: the configuration Yosys' synth_ecp5 maps a multiplication onto (ecp5/dsp_map.v): no
// input, pipeline or output registers (every REG_*_CLK = "NONE"), not bypassed, operands from
// the A and B pins (SOURCEA = SOURCEB = 0). Then, as Lattice documents the block, the product is
// combinational: P = A x B, 36 bits, each operand an 18-bit two's-complement number when its
// SIGNEDA / SIGNEDB pin is high and unsigned when low. Also the one registered configuration
// the RTL instantiates (hw/rtl/registered_product.v): the A and B input registers and the
// output register on CLK0 (REG_INPUTA_CLK = REG_INPUTB_CLK = REG_OUTPUT_CLK = "CLK0", their CE
// CE0 and their reset RST0, synchronous: RESETMODE "SYNC"), no pipeline register: each
// register takes its input at CLK0's rising edge while CE0 is high, and clears while RST0 is
// high; P is then the output register, two edges after A and B. The signedness pins are used
// as they are (not registered). The C port feeds only the shift and cascade paths, which are
// not modelled. Any other configuration stops the simulation at its start (a registered or
// shifted multiplier must not pass as another), and codegen/netlist.py refuses a netlist whose
// SOURCEA/SOURCEB pins are not tied low.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module MULT18X18D (
    input  wire A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17,
    input  wire B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12, B13, B14, B15, B16, B17,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14, C15, C16, C17,
    input  wire SOURCEA, SOURCEB,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire SIGNEDA, SIGNEDB,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire CLK0, CLK1, CLK2, CLK3,
    input  wire CE0, CE1, CE2, CE3,
    input  wire RST0, RST1, RST2, RST3,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, P17,
    output wire P18, P19, P20, P21, P22, P23, P24, P25, P26, P27, P28, P29, P30, P31, P32, P33, P34, P35
);
    parameter REG_INPUTA_CLK = "NONE";
    parameter REG_INPUTA_CE = "CE0";
    parameter REG_INPUTA_RST = "RST0";
    parameter REG_INPUTB_CLK = "NONE";
    parameter REG_INPUTB_CE = "CE0";
    parameter REG_INPUTB_RST = "RST0";
    parameter REG_INPUTC_CLK = "NONE";
    parameter REG_INPUTC_CE = "CE0";
    parameter REG_INPUTC_RST = "RST0";
    parameter REG_PIPELINE_CLK = "NONE";
    parameter REG_PIPELINE_CE = "CE0";
    parameter REG_PIPELINE_RST = "RST0";
    parameter REG_OUTPUT_CLK = "NONE";
    parameter REG_OUTPUT_CE = "CE0";
    parameter REG_OUTPUT_RST = "RST0";
    parameter [127:0] CLK0_DIV = "ENABLED";
    parameter [127:0] CLK1_DIV = "ENABLED";
    parameter [127:0] CLK2_DIV = "ENABLED";
    parameter [127:0] CLK3_DIV = "ENABLED";
    parameter HIGHSPEED_CLK = "NONE";
    parameter [127:0] GSR = "ENABLED";
    parameter CAS_MATCH_REG = "FALSE";
    parameter [127:0] SOURCEB_MODE = "B_SHIFT";
    parameter [127:0] MULT_BYPASS = "DISABLED";
    parameter [127:0] RESETMODE = "SYNC";

    // the registered configuration: A, B and the output on CLK0, CE0, RST0
    localparam REGISTERED = REG_INPUTA_CLK == "CLK0" && REG_INPUTB_CLK == "CLK0" && REG_OUTPUT_CLK == "CLK0"
                            && REG_INPUTA_CE == "CE0" && REG_INPUTB_CE == "CE0" && REG_OUTPUT_CE == "CE0"
                            && REG_INPUTA_RST == "RST0" && REG_INPUTB_RST == "RST0" && REG_OUTPUT_RST == "RST0"
                            && RESETMODE == "SYNC";
    localparam COMBINATIONAL = REG_INPUTA_CLK == "NONE" && REG_INPUTB_CLK == "NONE" && REG_OUTPUT_CLK == "NONE";
    initial begin
        if (!(REGISTERED || COMBINATIONAL) || REG_INPUTC_CLK != "NONE" || REG_PIPELINE_CLK != "NONE"
            || MULT_BYPASS != "DISABLED")
            $fatal(1, "MULT18X18D %m: only the combinational multiplier and A, B and output registered on CLK0 (no C or pipeline register, MULT_BYPASS DISABLED) are modelled");
    end

    wire [17:0] a_pins = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
    wire [17:0] b_pins = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
    reg  [17:0] a_q = 18'd0, b_q = 18'd0;
    reg  [35:0] p_q = 36'd0;
    wire [17:0] a = REGISTERED ? a_q : a_pins;
    wire [17:0] b = REGISTERED ? b_q : b_pins;
    // each operand widened to 36 bits by its sign (SIGNEDx high) or by zeros; the low 36 bits of
    // the product of the widened operands are the 36-bit product either way
    wire [35:0] a_wide = {{18{SIGNEDA & a[17]}}, a};
    wire [35:0] b_wide = {{18{SIGNEDB & b[17]}}, b};
    wire [35:0] product = a_wide * b_wide;
    always @(posedge CLK0)
        if (RST0) begin
            a_q <= 18'd0;
            b_q <= 18'd0;
            p_q <= 36'd0;
        end else if (CE0) begin
            a_q <= a_pins;
            b_q <= b_pins;
            p_q <= product;
        end
    wire [35:0] p = REGISTERED ? p_q : product;
    assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18,
            P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = p;
endmodule

`resetall
