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
// being taken; a vector is done in the cycle its last element is picked, and the next one is
// taken in that cycle.
//
// Timing: the elements still to send are a registered mask, and the next one's lane is
// found a pick ahead (the lowest set bit of the mask, a carry chain) into a register, so a
// pick is a multiplexer from registers: no search over the N elements lies on the path from
// the vector to the output or to the ready the producer sees.
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
    reg                   has_next;    // an element is left to send: the one at lane next_pos
    reg [IW-1:0]          next_pos;
    reg [N-1:0]           rest;        // the elements to send after it
    reg                   rest_empty;

    // the elements of an incoming vector to send: event mode the non-zero ones, and the
    // final one of a last vector (it carries last); dense mode all
    wire [N-1:0] incoming;
    genvar gi;
    generate
        for (gi = 0; gi < N; gi = gi + 1) begin : g_send
            assign incoming[gi] = (SKIP_ZEROS == 0)
                || (s_axis_tdata[gi*ELEM_BITS +: ELEM_BITS] != {ELEM_BITS{1'b0}})
                || (gi == N - 1 && s_axis_tdata[INDEX_BITS + N*ELEM_BITS]);
        end
    endgenerate

    reg [1+INDEX_BITS+ELEM_BITS-1:0] out_data;
    reg                              out_valid;
    assign m_axis_tdata = out_data;
    assign m_axis_tvalid = out_valid;

    wire pick = full && has_next && (!out_valid || m_axis_tready);   // the next element into the output
    wire done = full && (!has_next || (pick && rest_empty));          // the vector has nothing left to send
    wire load = s_axis_tvalid && s_axis_tready;
    assign s_axis_tready = !full || done;

    // the next pick's lane and what follows it, for a new vector and for the rest of this one,
    // both ahead of the ready that chooses between them (it arrives late, from downstream)
    function automatic [N-1:0] lowest_bit(input [N-1:0] m);   // the lowest set bit alone
        lowest_bit = m & (~m + 1'b1);
    endfunction
    // the lane of a mask's lowest set bit: a tree of (any, lane) pairs over halves, a few LUT
    // levels (through the carry chain of lowest_bit it would be a chain and then an encoder)
    function automatic [IW-1:0] lowest_lane(input [N-1:0] m);
        reg [N-1:0]    any;
        reg [N*IW-1:0] lane;    // lane[i]: the lowest set lane of the block starting at i
        integer step, i;
        begin
            any = m;
            for (i = 0; i < N; i = i + 1) lane[i*IW +: IW] = IW'(i);
            for (step = 1; step < N; step = step * 2)
                for (i = 0; i + step < N; i = i + 2 * step) begin
                    if (!any[i]) lane[i*IW +: IW] = lane[(i + step)*IW +: IW];
                    any[i] = any[i] | any[i + step];
                end
            lowest_lane = lane[IW-1:0];
        end
    endfunction
    // whether a mask has at most one bit set: a tree of (any, several) pairs, a few LUT levels
    // where (m & (m - 1)) == 0 would be a carry chain and then a wide NOR
    function automatic at_most_one(input [N-1:0] m);
        reg [N-1:0] any, several;
        integer step, i;
        begin
            any = m;
            several = {N{1'b0}};
            for (step = 1; step < N; step = step * 2)
                for (i = 0; i + step < N; i = i + 2 * step) begin
                    several[i] = several[i] | several[i + step] | (any[i] & any[i + step]);
                    any[i] = any[i] | any[i + step];
                end
            at_most_one = !several[0];
        end
    endfunction
    wire [N-1:0] incoming_first = lowest_bit(incoming);
    wire [N-1:0] incoming_after = incoming & ~incoming_first;
    wire [N-1:0] rest_first = lowest_bit(rest);
    wire [N-1:0] rest_after = rest & ~rest_first;
    /* verilator lint_off WIDTHEXPAND */
    wire [INDEX_BITS-1:0] index = base + INDEX_BITS'(next_pos);
    /* verilator lint_on WIDTHEXPAND */

    always @(posedge clk) begin
        if (m_axis_tready) out_valid <= 1'b0;
        if (pick) begin
            out_data <= {last_vec && next_pos == LAST_LANE, index, vec[next_pos*ELEM_BITS +: ELEM_BITS]};
            out_valid <= 1'b1;
        end
        if (load) begin
            has_next <= incoming != {N{1'b0}};
            next_pos <= lowest_lane(incoming);
            rest <= incoming_after;
            rest_empty <= at_most_one(incoming);
        end else if (pick) begin
            has_next <= !rest_empty;
            next_pos <= lowest_lane(rest);
            rest <= rest_after;
            rest_empty <= at_most_one(rest);
        end
        if (done) full <= 1'b0;
        if (load) begin
            {last_vec, base, vec} <= s_axis_tdata;
            full <= 1'b1;
        end
        if (rst) begin
            full <= 1'b0;
            out_valid <= 1'b0;
        end
    end
endmodule

`resetall
