// Vectors in, an element stream out: the input of a dense layer's accumulate engine.
//
// In: one beat per vector of N elements (ELEM_BITS each, element 0 in the low bits); BEATS
// vectors make one engine position (the pixels of a flattened map, or one vector).
// Out: one element per beat, {last, index, element}: index = beat * N + lane is the element's
// row in the engine's weight ROM, last marks the final element of the position.
// A beat counter labels each vector with its base index and whether it ends the position;
// element_serializer does the rest (SKIP_ZEROS, one cycle for a vector with nothing to send,
// no bubble between vectors).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module vector_serializer #(
    parameter integer N = 8,
    parameter integer ELEM_BITS = 1,
    parameter integer BEATS = 1,
    parameter integer SKIP_ZEROS = 1,
    parameter integer INDEX_BITS = ($clog2(N * BEATS) > 0) ? $clog2(N * BEATS) : 1
) (
    input  wire                                clk,
    input  wire                                rst,
    input  wire [N*ELEM_BITS-1:0]              s_axis_tdata,
    input  wire                                s_axis_tvalid,
    output wire                                s_axis_tready,
    output wire [1+INDEX_BITS+ELEM_BITS-1:0]   m_axis_tdata,
    output wire                                m_axis_tvalid,
    input  wire                                m_axis_tready
);
    localparam integer BW = (BEATS > 1) ? $clog2(BEATS) : 1;
    localparam [BW-1:0] LAST_BEAT = BW'(BEATS - 1);

    reg [BW-1:0]         beat;
    reg [INDEX_BITS-1:0] base;      // beat * N, kept by additions (no multiplier)
    wire                 last_beat = (beat == LAST_BEAT);

    element_serializer #(.N(N), .ELEM_BITS(ELEM_BITS), .SKIP_ZEROS(SKIP_ZEROS), .INDEX_BITS(INDEX_BITS)) u_serial (
        .clk(clk), .rst(rst),
        .s_axis_tdata({last_beat, base, s_axis_tdata}), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready));

    always @(posedge clk) begin
        if (s_axis_tvalid && s_axis_tready) begin
            beat <= last_beat ? {BW{1'b0}} : beat + 1'b1;
            base <= last_beat ? {INDEX_BITS{1'b0}} : base + INDEX_BITS'(N);
        end
        if (rst) begin
            beat <= {BW{1'b0}};
            base <= {INDEX_BITS{1'b0}};
        end
    end
endmodule

`resetall
