// Vectors in, an element stream out: the serializing half of conv_window and
// vector_serializer (the producers of an accumulate engine's input).
//
// In: one beat per vector, {last, base, vector}: N elements of ELEM_BITS (element 0 in the
// low bits), `base` the index of element 0, `last` set when the vector ends an engine
// position. Out: one element per beat, {last, index, element}: index = base + lane, last on
// the vector's final element when the vector is last.
// SKIP_ZEROS = 1 (event mode) sends only the non-zero elements (and a last vector's final
// element, which carries last); a vector without any costs one cycle. SKIP_ZEROS = 0 sends
// every element. The output is a register: an element is picked into it when it is empty or
// being taken, so no path runs from the vector to the engine's weight address; a vector is
// done in the cycle its last element is picked, and the next one is taken in that cycle.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module element_serializer #(
    parameter integer N = 8,
    parameter integer ELEM_BITS = 1,
    parameter integer SKIP_ZEROS = 1,
    parameter integer INDEX_BITS = 4
) (
    input  wire                                clk,
    input  wire                                rst,
    input  wire [1+INDEX_BITS+N*ELEM_BITS-1:0] s_axis_tdata,
    input  wire                                s_axis_tvalid,
    output wire                                s_axis_tready,
    output wire [1+INDEX_BITS+ELEM_BITS-1:0]   m_axis_tdata,
    output wire                                m_axis_tvalid,
    input  wire                                m_axis_tready
);
    localparam integer IW = (N > 1) ? $clog2(N) : 1;
    localparam [IW-1:0] LAST_LANE = IW'(N - 1);

    reg [N*ELEM_BITS-1:0] vec;
    reg [INDEX_BITS-1:0]  base;
    reg                   last_vec;
    reg                   full;
    reg [IW-1:0]          from;

    wire          found, more;
    wire [IW-1:0] pos;
    element_picker #(.N(N), .ELEM_BITS(ELEM_BITS), .SKIP_ZEROS(SKIP_ZEROS), .IW(IW)) u_pick (
        .vec(vec), .from(from), .force_last(last_vec), .found(found), .pos(pos), .more(more));

    reg [1+INDEX_BITS+ELEM_BITS-1:0] out_data;
    reg                              out_valid;
    assign m_axis_tdata = out_data;
    assign m_axis_tvalid = out_valid;

    wire pick = full && found && (!out_valid || m_axis_tready);   // the next element into the output
    wire done = full && (!found || (pick && !more));               // the vector has nothing left to send
    assign s_axis_tready = !full || done;
    /* verilator lint_off WIDTHEXPAND */
    wire [INDEX_BITS-1:0] index = base + INDEX_BITS'(pos);
    /* verilator lint_on WIDTHEXPAND */

    always @(posedge clk) begin
        if (m_axis_tready) out_valid <= 1'b0;
        if (pick) begin
            out_data <= {last_vec && pos == LAST_LANE, index, vec[pos*ELEM_BITS +: ELEM_BITS]};
            out_valid <= 1'b1;
            from <= pos + 1'b1;
        end
        if (done) full <= 1'b0;
        if (s_axis_tvalid && s_axis_tready) begin
            {last_vec, base, vec} <= s_axis_tdata;
            full <= 1'b1;
            from <= {IW{1'b0}};
        end
        if (rst) begin
            full <= 1'b0;
            from <= {IW{1'b0}};
            out_valid <= 1'b0;
        end
    end
endmodule

`resetall
