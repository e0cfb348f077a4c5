// Behavioural simulation model of the Lattice ECP5 DP16KD (sysMEM 18 Kbit block RAM) for the
// gate-level check of the synthesized netlist (qpsnn netlist). Yosys 0.23's ecp5/cells_sim.v
// declares DP16KD with its ports and parameters but no behaviour (its outputs are never driven),
// so the project owns this model (codegen/netlist.py: which cells come from where). The pins and
// modes follow the primitive as Lattice documents it (ECP5 memory usage guide, TN1264); the
// INITVAL layout is the one Yosys' ecp5/brams_map.v writes and nextpnr loads into the block (an
// assumption about the silicon not checked here). Tested against Python: tests/test_netlist.py.
//
// The array is 1,024 rows of 18 bits. INITVAL_nn (nn = 00..3F, 320 bits) holds rows
// nn*16 .. nn*16+15, row nn*16+i in bits [i*20 +: 18] (two unused bits per 20-bit field).
// A port's word at its DATA_WIDTH (Lattice's address and data pin use for each width):
//   36  pseudo dual port: port A writes, port B reads; word w = rows 2w (bits 17:0) and 2w+1
//       (bits 35:18); address AD[13:5]; write data DIA (17:0) and DIB (35:18), byte enables
//       ADA[3:0] (9 bits each); read data DOA (17:0) and DOB (35:18)
//   18  word w = row w; address AD[13:4]; byte enables AD[1:0] (bits 8:0, 17:9)
//    9  word w = half w%2 of row w/2 (bits 8:0 for even w); address AD[13:3]; data pins 8:0
// A port acts at the rising edge of its clock (CLKxMUX "INV": the falling edge) while its CE is
// high and its chip select CS[2:0] equals CSDECODE: a write stores DI under the byte enables; the
// data output (REGMODE "NOREG") then shows the word read at that edge, or in a write cycle the
// old word (WRITEMODE "READBEFOREWRITE"), the new one ("WRITETHROUGH") or holds ("NORMAL"). The
// outputs start at 0. Not modelled, and stopping the simulation if used: widths 1, 2 and 4, the
// output register (REGMODE "OUTREG"), the output reset RST, and a 36-bit port A that reads or
// port B that writes; simultaneous access of one row by both ports is not modelled either.
`resetall
`timescale 1ns / 1ps
`default_nettype none

/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
module DP16KD (
    input  wire DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
    input  wire ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
    input  wire CEA, OCEA, CLKA, WEA, RSTA,
    input  wire CSA2, CSA1, CSA0,
    output wire DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
    input  wire DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
    input  wire ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
    input  wire CEB, OCEB, CLKB, WEB, RSTB,
    input  wire CSB2, CSB1, CSB0,
    output wire DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    parameter integer DATA_WIDTH_A = 18;
    parameter integer DATA_WIDTH_B = 18;
    parameter REGMODE_A = "NOREG";
    parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC";
    parameter ASYNC_RESET_RELEASE = "SYNC";
    parameter CSDECODE_A = "0b000";
    parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL";
    parameter WRITEMODE_B = "NORMAL";
    parameter DIA17MUX = "DIA17";
    parameter DIA16MUX = "DIA16";
    parameter DIA15MUX = "DIA15";
    parameter DIA14MUX = "DIA14";
    parameter DIA13MUX = "DIA13";
    parameter DIA12MUX = "DIA12";
    parameter DIA11MUX = "DIA11";
    parameter DIA10MUX = "DIA10";
    parameter DIA9MUX = "DIA9";
    parameter DIA8MUX = "DIA8";
    parameter DIA7MUX = "DIA7";
    parameter DIA6MUX = "DIA6";
    parameter DIA5MUX = "DIA5";
    parameter DIA4MUX = "DIA4";
    parameter DIA3MUX = "DIA3";
    parameter DIA2MUX = "DIA2";
    parameter DIA1MUX = "DIA1";
    parameter DIA0MUX = "DIA0";
    parameter ADA13MUX = "ADA13";
    parameter ADA12MUX = "ADA12";
    parameter ADA11MUX = "ADA11";
    parameter ADA10MUX = "ADA10";
    parameter ADA9MUX = "ADA9";
    parameter ADA8MUX = "ADA8";
    parameter ADA7MUX = "ADA7";
    parameter ADA6MUX = "ADA6";
    parameter ADA5MUX = "ADA5";
    parameter ADA4MUX = "ADA4";
    parameter ADA3MUX = "ADA3";
    parameter ADA2MUX = "ADA2";
    parameter ADA1MUX = "ADA1";
    parameter ADA0MUX = "ADA0";
    parameter CEAMUX = "CEA";
    parameter OCEAMUX = "OCEA";
    parameter CLKAMUX = "CLKA";
    parameter WEAMUX = "WEA";
    parameter RSTAMUX = "RSTA";
    parameter CSA2MUX = "CSA2";
    parameter CSA1MUX = "CSA1";
    parameter CSA0MUX = "CSA0";
    parameter DOA17MUX = "DOA17";
    parameter DOA16MUX = "DOA16";
    parameter DOA15MUX = "DOA15";
    parameter DOA14MUX = "DOA14";
    parameter DOA13MUX = "DOA13";
    parameter DOA12MUX = "DOA12";
    parameter DOA11MUX = "DOA11";
    parameter DOA10MUX = "DOA10";
    parameter DOA9MUX = "DOA9";
    parameter DOA8MUX = "DOA8";
    parameter DOA7MUX = "DOA7";
    parameter DOA6MUX = "DOA6";
    parameter DOA5MUX = "DOA5";
    parameter DOA4MUX = "DOA4";
    parameter DOA3MUX = "DOA3";
    parameter DOA2MUX = "DOA2";
    parameter DOA1MUX = "DOA1";
    parameter DOA0MUX = "DOA0";
    parameter DIB17MUX = "DIB17";
    parameter DIB16MUX = "DIB16";
    parameter DIB15MUX = "DIB15";
    parameter DIB14MUX = "DIB14";
    parameter DIB13MUX = "DIB13";
    parameter DIB12MUX = "DIB12";
    parameter DIB11MUX = "DIB11";
    parameter DIB10MUX = "DIB10";
    parameter DIB9MUX = "DIB9";
    parameter DIB8MUX = "DIB8";
    parameter DIB7MUX = "DIB7";
    parameter DIB6MUX = "DIB6";
    parameter DIB5MUX = "DIB5";
    parameter DIB4MUX = "DIB4";
    parameter DIB3MUX = "DIB3";
    parameter DIB2MUX = "DIB2";
    parameter DIB1MUX = "DIB1";
    parameter DIB0MUX = "DIB0";
    parameter ADB13MUX = "ADB13";
    parameter ADB12MUX = "ADB12";
    parameter ADB11MUX = "ADB11";
    parameter ADB10MUX = "ADB10";
    parameter ADB9MUX = "ADB9";
    parameter ADB8MUX = "ADB8";
    parameter ADB7MUX = "ADB7";
    parameter ADB6MUX = "ADB6";
    parameter ADB5MUX = "ADB5";
    parameter ADB4MUX = "ADB4";
    parameter ADB3MUX = "ADB3";
    parameter ADB2MUX = "ADB2";
    parameter ADB1MUX = "ADB1";
    parameter ADB0MUX = "ADB0";
    parameter CEBMUX = "CEB";
    parameter OCEBMUX = "OCEB";
    parameter CLKBMUX = "CLKB";
    parameter WEBMUX = "WEB";
    parameter RSTBMUX = "RSTB";
    parameter CSB2MUX = "CSB2";
    parameter CSB1MUX = "CSB1";
    parameter CSB0MUX = "CSB0";
    parameter DOB17MUX = "DOB17";
    parameter DOB16MUX = "DOB16";
    parameter DOB15MUX = "DOB15";
    parameter DOB14MUX = "DOB14";
    parameter DOB13MUX = "DOB13";
    parameter DOB12MUX = "DOB12";
    parameter DOB11MUX = "DOB11";
    parameter DOB10MUX = "DOB10";
    parameter DOB9MUX = "DOB9";
    parameter DOB8MUX = "DOB8";
    parameter DOB7MUX = "DOB7";
    parameter DOB6MUX = "DOB6";
    parameter DOB5MUX = "DOB5";
    parameter DOB4MUX = "DOB4";
    parameter DOB3MUX = "DOB3";
    parameter DOB2MUX = "DOB2";
    parameter DOB1MUX = "DOB1";
    parameter DOB0MUX = "DOB0";
    parameter WID = 0;
    parameter GSR = "ENABLED";
    parameter [319:0] INITVAL_00 = 320'h0;
    parameter [319:0] INITVAL_01 = 320'h0;
    parameter [319:0] INITVAL_02 = 320'h0;
    parameter [319:0] INITVAL_03 = 320'h0;
    parameter [319:0] INITVAL_04 = 320'h0;
    parameter [319:0] INITVAL_05 = 320'h0;
    parameter [319:0] INITVAL_06 = 320'h0;
    parameter [319:0] INITVAL_07 = 320'h0;
    parameter [319:0] INITVAL_08 = 320'h0;
    parameter [319:0] INITVAL_09 = 320'h0;
    parameter [319:0] INITVAL_0A = 320'h0;
    parameter [319:0] INITVAL_0B = 320'h0;
    parameter [319:0] INITVAL_0C = 320'h0;
    parameter [319:0] INITVAL_0D = 320'h0;
    parameter [319:0] INITVAL_0E = 320'h0;
    parameter [319:0] INITVAL_0F = 320'h0;
    parameter [319:0] INITVAL_10 = 320'h0;
    parameter [319:0] INITVAL_11 = 320'h0;
    parameter [319:0] INITVAL_12 = 320'h0;
    parameter [319:0] INITVAL_13 = 320'h0;
    parameter [319:0] INITVAL_14 = 320'h0;
    parameter [319:0] INITVAL_15 = 320'h0;
    parameter [319:0] INITVAL_16 = 320'h0;
    parameter [319:0] INITVAL_17 = 320'h0;
    parameter [319:0] INITVAL_18 = 320'h0;
    parameter [319:0] INITVAL_19 = 320'h0;
    parameter [319:0] INITVAL_1A = 320'h0;
    parameter [319:0] INITVAL_1B = 320'h0;
    parameter [319:0] INITVAL_1C = 320'h0;
    parameter [319:0] INITVAL_1D = 320'h0;
    parameter [319:0] INITVAL_1E = 320'h0;
    parameter [319:0] INITVAL_1F = 320'h0;
    parameter [319:0] INITVAL_20 = 320'h0;
    parameter [319:0] INITVAL_21 = 320'h0;
    parameter [319:0] INITVAL_22 = 320'h0;
    parameter [319:0] INITVAL_23 = 320'h0;
    parameter [319:0] INITVAL_24 = 320'h0;
    parameter [319:0] INITVAL_25 = 320'h0;
    parameter [319:0] INITVAL_26 = 320'h0;
    parameter [319:0] INITVAL_27 = 320'h0;
    parameter [319:0] INITVAL_28 = 320'h0;
    parameter [319:0] INITVAL_29 = 320'h0;
    parameter [319:0] INITVAL_2A = 320'h0;
    parameter [319:0] INITVAL_2B = 320'h0;
    parameter [319:0] INITVAL_2C = 320'h0;
    parameter [319:0] INITVAL_2D = 320'h0;
    parameter [319:0] INITVAL_2E = 320'h0;
    parameter [319:0] INITVAL_2F = 320'h0;
    parameter [319:0] INITVAL_30 = 320'h0;
    parameter [319:0] INITVAL_31 = 320'h0;
    parameter [319:0] INITVAL_32 = 320'h0;
    parameter [319:0] INITVAL_33 = 320'h0;
    parameter [319:0] INITVAL_34 = 320'h0;
    parameter [319:0] INITVAL_35 = 320'h0;
    parameter [319:0] INITVAL_36 = 320'h0;
    parameter [319:0] INITVAL_37 = 320'h0;
    parameter [319:0] INITVAL_38 = 320'h0;
    parameter [319:0] INITVAL_39 = 320'h0;
    parameter [319:0] INITVAL_3A = 320'h0;
    parameter [319:0] INITVAL_3B = 320'h0;
    parameter [319:0] INITVAL_3C = 320'h0;
    parameter [319:0] INITVAL_3D = 320'h0;
    parameter [319:0] INITVAL_3E = 320'h0;
    parameter [319:0] INITVAL_3F = 320'h0;
    parameter INIT_DATA = "STATIC";

    initial begin
        if (!(DATA_WIDTH_A == 9 || DATA_WIDTH_A == 18 || DATA_WIDTH_A == 36)
            || !(DATA_WIDTH_B == 9 || DATA_WIDTH_B == 18 || DATA_WIDTH_B == 36)
            || ((DATA_WIDTH_A == 36) != (DATA_WIDTH_B == 36)))
            $fatal(1, "DP16KD %m: DATA_WIDTH_A %0d, DATA_WIDTH_B %0d not modelled (9, 18, or 36 on both ports)",
                   DATA_WIDTH_A, DATA_WIDTH_B);
        if (REGMODE_A != "NOREG" || REGMODE_B != "NOREG")
            $fatal(1, "DP16KD %m: only REGMODE NOREG is modelled");
    end

    // a CSDECODE string "0bXYZ": chip select value {X, Y, Z}
    function automatic [2:0] cs_value(input [39:0] text);
        cs_value = {text[23:16] == "1", text[15:8] == "1", text[7:0] == "1"};
    endfunction

    function automatic [319:0] initval(input integer n);
        case (n)
            0: initval = INITVAL_00;
            1: initval = INITVAL_01;
            2: initval = INITVAL_02;
            3: initval = INITVAL_03;
            4: initval = INITVAL_04;
            5: initval = INITVAL_05;
            6: initval = INITVAL_06;
            7: initval = INITVAL_07;
            8: initval = INITVAL_08;
            9: initval = INITVAL_09;
            10: initval = INITVAL_0A;
            11: initval = INITVAL_0B;
            12: initval = INITVAL_0C;
            13: initval = INITVAL_0D;
            14: initval = INITVAL_0E;
            15: initval = INITVAL_0F;
            16: initval = INITVAL_10;
            17: initval = INITVAL_11;
            18: initval = INITVAL_12;
            19: initval = INITVAL_13;
            20: initval = INITVAL_14;
            21: initval = INITVAL_15;
            22: initval = INITVAL_16;
            23: initval = INITVAL_17;
            24: initval = INITVAL_18;
            25: initval = INITVAL_19;
            26: initval = INITVAL_1A;
            27: initval = INITVAL_1B;
            28: initval = INITVAL_1C;
            29: initval = INITVAL_1D;
            30: initval = INITVAL_1E;
            31: initval = INITVAL_1F;
            32: initval = INITVAL_20;
            33: initval = INITVAL_21;
            34: initval = INITVAL_22;
            35: initval = INITVAL_23;
            36: initval = INITVAL_24;
            37: initval = INITVAL_25;
            38: initval = INITVAL_26;
            39: initval = INITVAL_27;
            40: initval = INITVAL_28;
            41: initval = INITVAL_29;
            42: initval = INITVAL_2A;
            43: initval = INITVAL_2B;
            44: initval = INITVAL_2C;
            45: initval = INITVAL_2D;
            46: initval = INITVAL_2E;
            47: initval = INITVAL_2F;
            48: initval = INITVAL_30;
            49: initval = INITVAL_31;
            50: initval = INITVAL_32;
            51: initval = INITVAL_33;
            52: initval = INITVAL_34;
            53: initval = INITVAL_35;
            54: initval = INITVAL_36;
            55: initval = INITVAL_37;
            56: initval = INITVAL_38;
            57: initval = INITVAL_39;
            58: initval = INITVAL_3A;
            59: initval = INITVAL_3B;
            60: initval = INITVAL_3C;
            61: initval = INITVAL_3D;
            62: initval = INITVAL_3E;
            63: initval = INITVAL_3F;
            default: initval = 320'h0;
        endcase
    endfunction

    reg [17:0] row [0:1023];
    integer r;
    initial begin
        for (r = 0; r < 1024; r = r + 1)
            row[r] = initval(r / 16) >> ((r % 16) * 20);
    end

    wire clk_a = (CLKAMUX == "INV") ? ~CLKA : CLKA;
    wire clk_b = (CLKBMUX == "INV") ? ~CLKB : CLKB;
    wire act_a = CEA && ({CSA2, CSA1, CSA0} == cs_value(CSDECODE_A));
    wire act_b = CEB && ({CSB2, CSB1, CSB0} == cs_value(CSDECODE_B));
    wire [17:0] di_a = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
    wire [17:0] di_b = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
    wire [13:0] ad_a = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
    wire [13:0] ad_b = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
    reg  [17:0] do_a = 18'd0;
    reg  [17:0] do_b = 18'd0;
    assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = do_a;
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = do_b;

    // a port of 9 or 18 bits addresses row AD[13:4] (a 9-bit word: its half AD[3]); the row after
    // a write of di under the byte enables (18 bits: AD[1:0]; 9 bits: the addressed half)
    function automatic [17:0] written(input integer width, input [17:0] old, input [17:0] di, input [13:0] ad);
        written = old;
        if (width == 18) begin
            if (ad[0]) written[8:0] = di[8:0];
            if (ad[1]) written[17:9] = di[17:9];
        end else if (ad[3]) begin
            written[17:9] = di[8:0];
        end else begin
            written[8:0] = di[8:0];
        end
    endfunction

    // what a port of 9 or 18 bits reads from a row
    function automatic [17:0] word(input integer width, input [17:0] value, input [13:0] ad);
        word = (width == 18) ? value : {9'd0, ad[3] ? value[17:9] : value[8:0]};
    endfunction

    generate
        if (DATA_WIDTH_A == 36) begin : g_pdp
            // pseudo dual port: A writes 36 bits to rows 2w, 2w+1; B reads them
            always @(posedge clk_a) begin
                if (act_a && WEA) begin
                    if (ADA0) row[{ad_a[13:5], 1'b0}][8:0]  <= di_a[8:0];
                    if (ADA1) row[{ad_a[13:5], 1'b0}][17:9] <= di_a[17:9];
                    if (ADA2) row[{ad_a[13:5], 1'b1}][8:0]  <= di_b[8:0];
                    if (ADA3) row[{ad_a[13:5], 1'b1}][17:9] <= di_b[17:9];
                end
            end
            always @(posedge clk_b) begin
                if (act_b) begin
                    do_a <= row[{ad_b[13:5], 1'b0}];
                    do_b <= row[{ad_b[13:5], 1'b1}];
                end
            end
            always @(posedge clk_a) if (act_a && RSTA) $fatal(1, "DP16KD %m: RSTA is not modelled");
            always @(posedge clk_b) if (act_b && (RSTB || WEB)) $fatal(1, "DP16KD %m: a 36-bit port B reads only");
        end else begin : g_dp
            always @(posedge clk_a) begin : g_port_A
                reg [17:0] old_row, new_row;
                if (act_a) begin
                    if (RSTA) $fatal(1, "DP16KD %m: RSTA is not modelled");
                    old_row = row[ad_a[13:4]];
                    new_row = written(DATA_WIDTH_A, old_row, di_a, ad_a);
                    if (WEA) row[ad_a[13:4]] <= new_row;
                    if (!WEA || WRITEMODE_A == "READBEFOREWRITE") do_a <= word(DATA_WIDTH_A, old_row, ad_a);
                    else if (WRITEMODE_A == "WRITETHROUGH") do_a <= word(DATA_WIDTH_A, new_row, ad_a);
                end
            end
            always @(posedge clk_b) begin : g_port_B
                reg [17:0] old_row, new_row;
                if (act_b) begin
                    if (RSTB) $fatal(1, "DP16KD %m: RSTB is not modelled");
                    old_row = row[ad_b[13:4]];
                    new_row = written(DATA_WIDTH_B, old_row, di_b, ad_b);
                    if (WEB) row[ad_b[13:4]] <= new_row;
                    if (!WEB || WRITEMODE_B == "READBEFOREWRITE") do_b <= word(DATA_WIDTH_B, old_row, ad_b);
                    else if (WRITEMODE_B == "WRITETHROUGH") do_b <= word(DATA_WIDTH_B, new_row, ad_b);
                end
            end
        end
    endgenerate
endmodule
/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
