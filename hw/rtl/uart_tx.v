// UART transmitter: each AXI-stream byte out as a start bit, 8 data bits (least significant
// first) and one stop bit, CLKS_PER_BIT clock cycles each (clock / baud rate). A byte is taken
// while the line is idle or in the last cycle of a stop bit (back to back, a byte every 10 bit times); the line is high from power-up, so the receiver sees no start bit
// before the first byte.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module uart_tx #(
    parameter integer CLKS_PER_BIT = 217
) (
    input  wire       clk,
    input  wire       rst,
    input  wire [7:0] s_axis_tdata,
    input  wire       s_axis_tvalid,
    output wire       s_axis_tready,
    // high from power-up, before any reset: a low line would be a start bit to the receiver
    /* verilator lint_off PROCASSINIT */
    output reg        txd = 1'b1
    /* verilator lint_on PROCASSINIT */
);
    localparam integer CW = $clog2(CLKS_PER_BIT);
    localparam [CW-1:0] FULL = CW'(CLKS_PER_BIT - 1);

    reg [8:0]    shift;         // the data bits and the stop bit still to send, in order
    reg [3:0]    bits_left;     // bit times still to send after the current one
    reg [CW-1:0] count;         // cycles left of the current bit time
    reg          busy;

    // the last cycle of the stop bit: the next byte's start bit can follow at once
    wire last_cycle = busy && count == {CW{1'b0}} && bits_left == 4'd0;
    assign s_axis_tready = !busy || last_cycle;

    always @(posedge clk) begin
        if (s_axis_tvalid && s_axis_tready) begin
            txd <= 1'b0;                          // the start bit
            shift <= {1'b1, s_axis_tdata};
            bits_left <= 4'd9;
            count <= FULL;
            busy <= 1'b1;
        end else if (last_cycle) begin
            busy <= 1'b0;
        end else if (count != {CW{1'b0}}) begin
            count <= count - 1'b1;
        end else if (busy) begin
            txd <= shift[0];
            shift <= {1'b1, shift[8:1]};
            bits_left <= bits_left - 1'b1;
            count <= FULL;
        end
        if (rst) begin
            busy <= 1'b0;
            txd <= 1'b1;
        end
    end
endmodule

`resetall
