// Test bench top of the project's ECP5 cell models (hw/ecp5): one MULT18X18D combinational and
// one with its A, B and output registers on CLK0 (as registered_product uses it), one DP16KD as a
// 36-bit pseudo dual-port ROM/RAM (how Yosys maps the weight ROMs) and one as a true dual port
// with an 18-bit port A and a 9-bit port B. INIT0, INIT1, INIT63 are their INITVAL_00, _01 and
// _3F; every other INITVAL is zero.
`resetall
`timescale 1ns / 1ps
`default_nettype none

/* verilator lint_off UNUSEDSIGNAL */
module ecp5_cells_tb #(
    parameter [319:0] INIT0 = 320'h0,
    parameter [319:0] INIT1 = 320'h0,
    parameter [319:0] INIT63 = 320'h0
) (
    input  wire        clk,
    // MULT18X18D
    input  wire [17:0] mul_a,
    input  wire [17:0] mul_b,
    input  wire        mul_signed_a,
    input  wire        mul_signed_b,
    output wire [35:0] mul_p,
    // MULT18X18D registered (A, B and P on CLK0, CE0, RST0), the same operands
    input  wire        mul_ce,
    input  wire        mul_rst,
    output wire [35:0] mul_reg_p,
    // DP16KD, 36-bit pseudo dual port: write port A, read port B
    input  wire        pdp_we,
    input  wire [3:0]  pdp_be,
    input  wire [8:0]  pdp_waddr,
    input  wire [35:0] pdp_wdata,
    input  wire        pdp_re,
    input  wire [8:0]  pdp_raddr,
    output wire [35:0] pdp_rdata,
    // DP16KD, true dual port: A 18 bits (WRITETHROUGH), B 9 bits (READBEFOREWRITE)
    input  wire        a_ce,
    input  wire        a_we,
    input  wire [1:0]  a_be,
    input  wire [9:0]  a_addr,
    input  wire [17:0] a_wdata,
    output wire [17:0] a_rdata,
    input  wire        b_ce,
    input  wire        b_we,
    input  wire [10:0] b_addr,
    input  wire [8:0]  b_wdata,
    output wire [17:0] b_rdata
);
    MULT18X18D u_mul (
        .A0(mul_a[0]), .A1(mul_a[1]), .A2(mul_a[2]), .A3(mul_a[3]), .A4(mul_a[4]), .A5(mul_a[5]), .A6(mul_a[6]), .A7(mul_a[7]), .A8(mul_a[8]), .A9(mul_a[9]), .A10(mul_a[10]), .A11(mul_a[11]), .A12(mul_a[12]), .A13(mul_a[13]), .A14(mul_a[14]), .A15(mul_a[15]), .A16(mul_a[16]), .A17(mul_a[17]),
        .B0(mul_b[0]), .B1(mul_b[1]), .B2(mul_b[2]), .B3(mul_b[3]), .B4(mul_b[4]), .B5(mul_b[5]), .B6(mul_b[6]), .B7(mul_b[7]), .B8(mul_b[8]), .B9(mul_b[9]), .B10(mul_b[10]), .B11(mul_b[11]), .B12(mul_b[12]), .B13(mul_b[13]), .B14(mul_b[14]), .B15(mul_b[15]), .B16(mul_b[16]), .B17(mul_b[17]),
        .SIGNEDA(mul_signed_a), .SIGNEDB(mul_signed_b), .SOURCEA(1'b0), .SOURCEB(1'b0),
        .P0(mul_p[0]), .P1(mul_p[1]), .P2(mul_p[2]), .P3(mul_p[3]), .P4(mul_p[4]), .P5(mul_p[5]), .P6(mul_p[6]), .P7(mul_p[7]), .P8(mul_p[8]), .P9(mul_p[9]), .P10(mul_p[10]), .P11(mul_p[11]), .P12(mul_p[12]), .P13(mul_p[13]), .P14(mul_p[14]), .P15(mul_p[15]), .P16(mul_p[16]), .P17(mul_p[17]), .P18(mul_p[18]), .P19(mul_p[19]), .P20(mul_p[20]), .P21(mul_p[21]), .P22(mul_p[22]), .P23(mul_p[23]), .P24(mul_p[24]), .P25(mul_p[25]), .P26(mul_p[26]), .P27(mul_p[27]), .P28(mul_p[28]), .P29(mul_p[29]), .P30(mul_p[30]), .P31(mul_p[31]), .P32(mul_p[32]), .P33(mul_p[33]), .P34(mul_p[34]), .P35(mul_p[35])
    );

    MULT18X18D #(.REG_INPUTA_CLK("CLK0"), .REG_INPUTB_CLK("CLK0"), .REG_OUTPUT_CLK("CLK0")) u_mul_reg (
        .A0(mul_a[0]), .A1(mul_a[1]), .A2(mul_a[2]), .A3(mul_a[3]), .A4(mul_a[4]), .A5(mul_a[5]), .A6(mul_a[6]), .A7(mul_a[7]), .A8(mul_a[8]), .A9(mul_a[9]), .A10(mul_a[10]), .A11(mul_a[11]), .A12(mul_a[12]), .A13(mul_a[13]), .A14(mul_a[14]), .A15(mul_a[15]), .A16(mul_a[16]), .A17(mul_a[17]),
        .B0(mul_b[0]), .B1(mul_b[1]), .B2(mul_b[2]), .B3(mul_b[3]), .B4(mul_b[4]), .B5(mul_b[5]), .B6(mul_b[6]), .B7(mul_b[7]), .B8(mul_b[8]), .B9(mul_b[9]), .B10(mul_b[10]), .B11(mul_b[11]), .B12(mul_b[12]), .B13(mul_b[13]), .B14(mul_b[14]), .B15(mul_b[15]), .B16(mul_b[16]), .B17(mul_b[17]),
        .SIGNEDA(mul_signed_a), .SIGNEDB(mul_signed_b), .SOURCEA(1'b0), .SOURCEB(1'b0),
        .CLK0(clk), .CLK1(1'b0), .CLK2(1'b0), .CLK3(1'b0), .CE0(mul_ce), .CE1(1'b0), .CE2(1'b0), .CE3(1'b0),
        .RST0(mul_rst), .RST1(1'b0), .RST2(1'b0), .RST3(1'b0),
        .P0(mul_reg_p[0]), .P1(mul_reg_p[1]), .P2(mul_reg_p[2]), .P3(mul_reg_p[3]), .P4(mul_reg_p[4]), .P5(mul_reg_p[5]), .P6(mul_reg_p[6]), .P7(mul_reg_p[7]), .P8(mul_reg_p[8]), .P9(mul_reg_p[9]), .P10(mul_reg_p[10]), .P11(mul_reg_p[11]), .P12(mul_reg_p[12]), .P13(mul_reg_p[13]), .P14(mul_reg_p[14]), .P15(mul_reg_p[15]), .P16(mul_reg_p[16]), .P17(mul_reg_p[17]), .P18(mul_reg_p[18]), .P19(mul_reg_p[19]), .P20(mul_reg_p[20]), .P21(mul_reg_p[21]), .P22(mul_reg_p[22]), .P23(mul_reg_p[23]), .P24(mul_reg_p[24]), .P25(mul_reg_p[25]), .P26(mul_reg_p[26]), .P27(mul_reg_p[27]), .P28(mul_reg_p[28]), .P29(mul_reg_p[29]), .P30(mul_reg_p[30]), .P31(mul_reg_p[31]), .P32(mul_reg_p[32]), .P33(mul_reg_p[33]), .P34(mul_reg_p[34]), .P35(mul_reg_p[35])
    );

    wire [13:0] pdp_ada = {pdp_waddr, 1'b0, pdp_be};
    wire [13:0] pdp_adb = {pdp_raddr, 5'b0};
    DP16KD #(.DATA_WIDTH_A(36), .DATA_WIDTH_B(36), .INITVAL_00(INIT0), .INITVAL_01(INIT1), .INITVAL_3F(INIT63)) u_pdp (
        .CLKA(clk), .CEA(pdp_we), .OCEA(1'b0), .WEA(1'b1), .RSTA(1'b0), .CSA2(1'b0), .CSA1(1'b0), .CSA0(1'b0),
        .ADA0(pdp_ada[0]), .ADA1(pdp_ada[1]), .ADA2(pdp_ada[2]), .ADA3(pdp_ada[3]), .ADA4(pdp_ada[4]), .ADA5(pdp_ada[5]), .ADA6(pdp_ada[6]), .ADA7(pdp_ada[7]), .ADA8(pdp_ada[8]), .ADA9(pdp_ada[9]), .ADA10(pdp_ada[10]), .ADA11(pdp_ada[11]), .ADA12(pdp_ada[12]), .ADA13(pdp_ada[13]),
        .DIA0(pdp_wdata[0]), .DIA1(pdp_wdata[1]), .DIA2(pdp_wdata[2]), .DIA3(pdp_wdata[3]), .DIA4(pdp_wdata[4]), .DIA5(pdp_wdata[5]), .DIA6(pdp_wdata[6]), .DIA7(pdp_wdata[7]), .DIA8(pdp_wdata[8]), .DIA9(pdp_wdata[9]), .DIA10(pdp_wdata[10]), .DIA11(pdp_wdata[11]), .DIA12(pdp_wdata[12]), .DIA13(pdp_wdata[13]), .DIA14(pdp_wdata[14]), .DIA15(pdp_wdata[15]), .DIA16(pdp_wdata[16]), .DIA17(pdp_wdata[17]),
        .DIB0(pdp_wdata[18]), .DIB1(pdp_wdata[19]), .DIB2(pdp_wdata[20]), .DIB3(pdp_wdata[21]), .DIB4(pdp_wdata[22]), .DIB5(pdp_wdata[23]), .DIB6(pdp_wdata[24]), .DIB7(pdp_wdata[25]), .DIB8(pdp_wdata[26]), .DIB9(pdp_wdata[27]), .DIB10(pdp_wdata[28]), .DIB11(pdp_wdata[29]), .DIB12(pdp_wdata[30]), .DIB13(pdp_wdata[31]), .DIB14(pdp_wdata[32]), .DIB15(pdp_wdata[33]), .DIB16(pdp_wdata[34]), .DIB17(pdp_wdata[35]),
        .CLKB(clk), .CEB(pdp_re), .OCEB(1'b1), .WEB(1'b0), .RSTB(1'b0), .CSB2(1'b0), .CSB1(1'b0), .CSB0(1'b0),
        .ADB0(pdp_adb[0]), .ADB1(pdp_adb[1]), .ADB2(pdp_adb[2]), .ADB3(pdp_adb[3]), .ADB4(pdp_adb[4]), .ADB5(pdp_adb[5]), .ADB6(pdp_adb[6]), .ADB7(pdp_adb[7]), .ADB8(pdp_adb[8]), .ADB9(pdp_adb[9]), .ADB10(pdp_adb[10]), .ADB11(pdp_adb[11]), .ADB12(pdp_adb[12]), .ADB13(pdp_adb[13]),
        .DOA0(pdp_rdata[0]), .DOA1(pdp_rdata[1]), .DOA2(pdp_rdata[2]), .DOA3(pdp_rdata[3]), .DOA4(pdp_rdata[4]), .DOA5(pdp_rdata[5]), .DOA6(pdp_rdata[6]), .DOA7(pdp_rdata[7]), .DOA8(pdp_rdata[8]), .DOA9(pdp_rdata[9]), .DOA10(pdp_rdata[10]), .DOA11(pdp_rdata[11]), .DOA12(pdp_rdata[12]), .DOA13(pdp_rdata[13]), .DOA14(pdp_rdata[14]), .DOA15(pdp_rdata[15]), .DOA16(pdp_rdata[16]), .DOA17(pdp_rdata[17]),
        .DOB0(pdp_rdata[18]), .DOB1(pdp_rdata[19]), .DOB2(pdp_rdata[20]), .DOB3(pdp_rdata[21]), .DOB4(pdp_rdata[22]), .DOB5(pdp_rdata[23]), .DOB6(pdp_rdata[24]), .DOB7(pdp_rdata[25]), .DOB8(pdp_rdata[26]), .DOB9(pdp_rdata[27]), .DOB10(pdp_rdata[28]), .DOB11(pdp_rdata[29]), .DOB12(pdp_rdata[30]), .DOB13(pdp_rdata[31]), .DOB14(pdp_rdata[32]), .DOB15(pdp_rdata[33]), .DOB16(pdp_rdata[34]), .DOB17(pdp_rdata[35])
    );

    wire [13:0] tdp_ada = {a_addr, 2'b0, a_be};
    wire [13:0] tdp_adb = {b_addr, 3'b0};
    wire [17:0] tdp_dib = {9'b0, b_wdata};
    DP16KD #(.DATA_WIDTH_A(18), .DATA_WIDTH_B(9), .WRITEMODE_A("WRITETHROUGH"), .WRITEMODE_B("READBEFOREWRITE"),
             .INITVAL_00(INIT0), .INITVAL_01(INIT1), .INITVAL_3F(INIT63)) u_tdp (
        .CLKA(clk), .CEA(a_ce), .OCEA(1'b1), .WEA(a_we), .RSTA(1'b0), .CSA2(1'b0), .CSA1(1'b0), .CSA0(1'b0),
        .ADA0(tdp_ada[0]), .ADA1(tdp_ada[1]), .ADA2(tdp_ada[2]), .ADA3(tdp_ada[3]), .ADA4(tdp_ada[4]), .ADA5(tdp_ada[5]), .ADA6(tdp_ada[6]), .ADA7(tdp_ada[7]), .ADA8(tdp_ada[8]), .ADA9(tdp_ada[9]), .ADA10(tdp_ada[10]), .ADA11(tdp_ada[11]), .ADA12(tdp_ada[12]), .ADA13(tdp_ada[13]),
        .DIA0(a_wdata[0]), .DIA1(a_wdata[1]), .DIA2(a_wdata[2]), .DIA3(a_wdata[3]), .DIA4(a_wdata[4]), .DIA5(a_wdata[5]), .DIA6(a_wdata[6]), .DIA7(a_wdata[7]), .DIA8(a_wdata[8]), .DIA9(a_wdata[9]), .DIA10(a_wdata[10]), .DIA11(a_wdata[11]), .DIA12(a_wdata[12]), .DIA13(a_wdata[13]), .DIA14(a_wdata[14]), .DIA15(a_wdata[15]), .DIA16(a_wdata[16]), .DIA17(a_wdata[17]),
        .DOA0(a_rdata[0]), .DOA1(a_rdata[1]), .DOA2(a_rdata[2]), .DOA3(a_rdata[3]), .DOA4(a_rdata[4]), .DOA5(a_rdata[5]), .DOA6(a_rdata[6]), .DOA7(a_rdata[7]), .DOA8(a_rdata[8]), .DOA9(a_rdata[9]), .DOA10(a_rdata[10]), .DOA11(a_rdata[11]), .DOA12(a_rdata[12]), .DOA13(a_rdata[13]), .DOA14(a_rdata[14]), .DOA15(a_rdata[15]), .DOA16(a_rdata[16]), .DOA17(a_rdata[17]),
        .CLKB(clk), .CEB(b_ce), .OCEB(1'b1), .WEB(b_we), .RSTB(1'b0), .CSB2(1'b0), .CSB1(1'b0), .CSB0(1'b0),
        .ADB0(tdp_adb[0]), .ADB1(tdp_adb[1]), .ADB2(tdp_adb[2]), .ADB3(tdp_adb[3]), .ADB4(tdp_adb[4]), .ADB5(tdp_adb[5]), .ADB6(tdp_adb[6]), .ADB7(tdp_adb[7]), .ADB8(tdp_adb[8]), .ADB9(tdp_adb[9]), .ADB10(tdp_adb[10]), .ADB11(tdp_adb[11]), .ADB12(tdp_adb[12]), .ADB13(tdp_adb[13]),
        .DIB0(tdp_dib[0]), .DIB1(tdp_dib[1]), .DIB2(tdp_dib[2]), .DIB3(tdp_dib[3]), .DIB4(tdp_dib[4]), .DIB5(tdp_dib[5]), .DIB6(tdp_dib[6]), .DIB7(tdp_dib[7]), .DIB8(tdp_dib[8]), .DIB9(tdp_dib[9]), .DIB10(tdp_dib[10]), .DIB11(tdp_dib[11]), .DIB12(tdp_dib[12]), .DIB13(tdp_dib[13]), .DIB14(tdp_dib[14]), .DIB15(tdp_dib[15]), .DIB16(tdp_dib[16]), .DIB17(tdp_dib[17]),
        .DOB0(b_rdata[0]), .DOB1(b_rdata[1]), .DOB2(b_rdata[2]), .DOB3(b_rdata[3]), .DOB4(b_rdata[4]), .DOB5(b_rdata[5]), .DOB6(b_rdata[6]), .DOB7(b_rdata[7]), .DOB8(b_rdata[8]), .DOB9(b_rdata[9]), .DOB10(b_rdata[10]), .DOB11(b_rdata[11]), .DOB12(b_rdata[12]), .DOB13(b_rdata[13]), .DOB14(b_rdata[14]), .DOB15(b_rdata[15]), .DOB16(b_rdata[16]), .DOB17(b_rdata[17])
    );
endmodule
/* verilator lint_on UNUSEDSIGNAL */

`resetall
