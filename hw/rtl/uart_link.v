// The accelerator's two streams over a UART (uart_rx, uart_tx): image frames in, one reply
// frame out per image. The framing (documented for the host in qpsnn/board.py):
//   request: the sync byte SYNC, then the image's PIXELS x PIXEL_BYTES bytes in the
//            accelerator's input order (raster order, a pixel's channels from channel 0);
//            bytes before a sync byte are ignored, so a host can always start a new frame.
//   reply:   a status byte (STATUS_OK, with bit 0 set when a received byte was dropped for
//            overrun and bit 1 when one had a framing error since the last reply), the class
//            (the readout's tuser), then the readout's beat, OUT_BYTES bytes, least significant
//            first (the lanes of every time step as they are, little-endian).
// The pixels leave on m_axis (PIXEL_BYTES x 8 bits, channel 0 in the low byte); the readout's
// beat comes in on s_axis and is taken when its last byte has gone to the transmitter.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module uart_link #(
    parameter integer CLKS_PER_BIT = 217,
    parameter integer PIXEL_BYTES = 1,
    parameter integer PIXELS = 64,
    parameter integer OUT_BYTES = 60,
    parameter integer CLASS_BITS = 4,
    parameter [7:0] SYNC = 8'hA5,
    parameter [7:0] STATUS_OK = 8'h50
) (
    input  wire                       clk,
    input  wire                       rst,
    input  wire                       rxd,
    output wire                       txd,
    output reg  [PIXEL_BYTES*8-1:0]   m_axis_tdata,
    output reg                        m_axis_tvalid,
    input  wire                       m_axis_tready,
    input  wire [OUT_BYTES*8-1:0]     s_axis_tdata,
    input  wire [CLASS_BITS-1:0]      s_axis_tuser,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready
);
    localparam integer PW = $clog2(PIXELS + 1);
    localparam integer BW = (PIXEL_BYTES > 1) ? $clog2(PIXEL_BYTES) : 1;
    localparam integer OW = $clog2(OUT_BYTES + 2);
    localparam [OW-1:0] LAST_BYTE = OW'(OUT_BYTES + 1);

    // ---- request: sync byte, then the pixels
    wire [7:0] rx_data;
    wire       rx_valid, rx_overrun, rx_frame_error;
    reg        receiving;               // the sync byte was seen: bytes are pixels
    reg [PW-1:0] pixels_left;
    reg [BW-1:0] byte_index;            // of the pixel being assembled
    // a byte is taken when it is a candidate sync byte or the pixel register is free
    wire rx_ready = !receiving || !m_axis_tvalid;
    wire rx_take = rx_valid && rx_ready;
    // bytes enter at the top and move down: a pixel's first byte ends in the low byte
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PIXEL_BYTES*8+7:0] shifted = {rx_data, m_axis_tdata};
    /* verilator lint_on UNUSEDSIGNAL */

    uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
        .clk(clk), .rst(rst), .rxd(rxd),
        .m_axis_tdata(rx_data), .m_axis_tvalid(rx_valid), .m_axis_tready(rx_ready),
        .overrun(rx_overrun), .frame_error(rx_frame_error)
    );

    always @(posedge clk) begin
        if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
        if (rx_take) begin
            if (!receiving) begin
                if (rx_data == SYNC) begin
                    receiving <= 1'b1;
                    pixels_left <= PW'(PIXELS);
                    byte_index <= {BW{1'b0}};
                end
            end else begin
                m_axis_tdata <= shifted[PIXEL_BYTES*8+7:8];
                if (byte_index == BW'(PIXEL_BYTES - 1)) begin
                    byte_index <= {BW{1'b0}};
                    m_axis_tvalid <= 1'b1;
                    pixels_left <= pixels_left - 1'b1;
                    if (pixels_left == PW'(1)) receiving <= 1'b0;
                end else begin
                    byte_index <= byte_index + 1'b1;
                end
            end
        end
        if (rst) begin
            receiving <= 1'b0;
            m_axis_tvalid <= 1'b0;
        end
    end

    // ---- reply: status, class, the readout's beat
    reg  [OW-1:0] reply_index;          // the byte of the reply being offered
    reg  [1:0]    flags;                // {framing error, overrun} since the status byte before
    reg  [7:0]    tx_data;
    wire [OW-1:0] lane_byte = reply_index - OW'(2);   // of the readout's beat
    wire          tx_ready;
    wire          tx_take = s_axis_tvalid && tx_ready;
    assign s_axis_tready = tx_take && reply_index == LAST_BYTE;

    always @* begin
        if (reply_index == {OW{1'b0}}) tx_data = STATUS_OK | {6'd0, flags};
        else if (reply_index == OW'(1)) tx_data = 8'(s_axis_tuser);
        else tx_data = 8'(s_axis_tdata >> {lane_byte, 3'b000});
    end

    uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
        .clk(clk), .rst(rst),
        .s_axis_tdata(tx_data), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(tx_ready), .txd(txd)
    );

    always @(posedge clk) begin
        if (tx_take) reply_index <= (reply_index == LAST_BYTE) ? {OW{1'b0}} : reply_index + 1'b1;
        // a flag raised in the cycle the status byte goes out counts for the next reply
        flags <= ((tx_take && reply_index == {OW{1'b0}}) ? 2'b00 : flags) | {rx_frame_error, rx_overrun};
        if (rst) begin
            reply_index <= {OW{1'b0}};
            flags <= 2'b00;
        end
    end
endmodule

`resetall
