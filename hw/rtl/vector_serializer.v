// Vectors in, an element stream out: the input of a dense layer's accumulate engine.
//
// In: one beat per vector of N elements (ELEM_BITS each, element 0 in the low bits); BEATS
// vectors make one engine position (the pixels of a flattened map, or one vector).
// Out: one element per beat, {last, index, element}: index = beat * N + lane is the element's
// row in the engine's weight ROM, last marks the final element of the position.
// SKIP_ZEROS = 1 (event mode) sends only the non-zero elements (and the final one, which
// carries last); a vector without any costs one cycle. SKIP_ZEROS = 0 sends every element.
// The next vector is taken in the cycle the current one is done: no bubble between vectors.
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
    localparam integer IW = (N > 1) ? $clog2(N) : 1;
    localparam integer BW = (BEATS > 1) ? $clog2(BEATS) : 1;
    localparam [BW-1:0] LAST_BEAT = BW'(BEATS - 1);
    localparam [IW-1:0] LAST_LANE = IW'(N - 1);

    reg [N*ELEM_BITS-1:0] vec;
    reg                   full;
    reg [IW-1:0]          from;
    reg [BW-1:0]          beat;
    reg [INDEX_BITS-1:0]  base;      // beat * N, kept by additions (no multiplier)

    wire          found, more;
    wire [IW-1:0] pos;
    wire          last_beat = (beat == LAST_BEAT);
    element_picker #(.N(N), .ELEM_BITS(ELEM_BITS), .SKIP_ZEROS(SKIP_ZEROS), .IW(IW)) u_pick (
        .vec(vec), .from(from), .force_last(last_beat), .found(found), .pos(pos), .more(more));

    wire send = m_axis_tvalid && m_axis_tready;
    wire done = full && (!found || (send && !more));   // the vector has nothing left to send
    assign s_axis_tready = !full || done;
    assign m_axis_tvalid = full && found;
    /* verilator lint_off WIDTHEXPAND */
    wire [INDEX_BITS-1:0] index = base + INDEX_BITS'(pos);
    /* verilator lint_on WIDTHEXPAND */
    assign m_axis_tdata = {last_beat && pos == LAST_LANE, index, vec[pos*ELEM_BITS +: ELEM_BITS]};

    always @(posedge clk) begin
        if (send) from <= pos + 1'b1;
        if (done) begin
            full <= 1'b0;
            beat <= last_beat ? {BW{1'b0}} : beat + 1'b1;
            base <= last_beat ? {INDEX_BITS{1'b0}} : base + INDEX_BITS'(N);
        end
        if (s_axis_tvalid && s_axis_tready) begin
            vec <= s_axis_tdata;
            full <= 1'b1;
            from <= {IW{1'b0}};
        end
        if (rst) begin
            full <= 1'b0;
            beat <= {BW{1'b0}};
            base <= {INDEX_BITS{1'b0}};
            from <= {IW{1'b0}};
        end
    end
endmodule

`resetall
