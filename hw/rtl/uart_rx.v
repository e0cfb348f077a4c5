// UART receiver: 8 data bits, no parity, one stop bit, least significant bit first; each byte
// out on an AXI-stream beat. CLKS_PER_BIT = clock / baud rate (217 for 115,200 baud at 25 MHz;
// the board top's simulation uses a small one: the same logic, fewer cycles per bit).
// The line is asynchronous: two flip-flops synchronize it. A start bit is a low level seen
// again half a bit after the falling edge (a shorter glitch is ignored); the data bits and the
// stop bit are sampled in the middle of their bit times. A byte whose stop bit is low (a
// framing error) is dropped and flagged by a one-cycle frame_error. A byte that arrives while
// the one before is still not taken is dropped and flagged by a one-cycle overrun: the UART has
// no flow control, so the consumer must take a byte within the 10 bit times of the next one.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module uart_rx #(
    parameter integer CLKS_PER_BIT = 217
) (
    input  wire       clk,
    input  wire       rst,
    input  wire       rxd,
    output reg  [7:0] m_axis_tdata,
    output reg        m_axis_tvalid,
    input  wire       m_axis_tready,
    output reg        overrun,
    output reg        frame_error
);
    localparam integer CW = $clog2(CLKS_PER_BIT);
    localparam [CW-1:0] FULL = CW'(CLKS_PER_BIT - 1);
    localparam [CW-1:0] HALF = CW'(CLKS_PER_BIT / 2 - 1);

    // the line idles high: the synchronizer starts there (its power-up value, before any
    // reset), so power-up is not a start bit
    /* verilator lint_off PROCASSINIT */
    reg [1:0]    sync = 2'b11;
    /* verilator lint_on PROCASSINIT */
    wire         line = sync[1];
    reg          busy;          // inside a byte: its start bit confirmed, or being checked
    reg          started;       // the start bit was confirmed at its middle
    reg [CW-1:0] count;         // cycles to the next sample
    reg [3:0]    bit_index;     // data bits sampled so far (8: the stop bit is next)
    reg [7:0]    shift;

    always @(posedge clk) begin
        sync <= {sync[0], rxd};
        overrun <= 1'b0;
        frame_error <= 1'b0;
        if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
        if (!busy) begin
            if (!line) begin            // a falling edge: check it again half a bit later
                busy <= 1'b1;
                started <= 1'b0;
                count <= HALF;
            end
        end else if (count != {CW{1'b0}}) begin
            count <= count - 1'b1;
        end else if (!started) begin
            started <= !line;
            busy <= !line;              // high again: a glitch, not a start bit
            bit_index <= 4'd0;
            count <= FULL;
        end else if (bit_index != 4'd8) begin
            shift <= {line, shift[7:1]};
            bit_index <= bit_index + 1'b1;
            count <= FULL;
        end else begin                  // the middle of the stop bit: back to idle
            busy <= 1'b0;
            if (!line) begin
                frame_error <= 1'b1;
            end else if (m_axis_tvalid && !m_axis_tready) begin
                overrun <= 1'b1;
            end else begin
                m_axis_tdata <= shift;
                m_axis_tvalid <= 1'b1;
            end
        end
        if (rst) begin
            busy <= 1'b0;
            m_axis_tvalid <= 1'b0;
            overrun <= 1'b0;
            frame_error <= 1'b0;
        end
    end
endmodule

`resetall
