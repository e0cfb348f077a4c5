// qpsnn: leaky integrate-and-fire neuron for hls4ml (one time step per call).
//
// The membrane of every neuron lives in a static array that persists across calls; a call
// counter clears it at the first of every T calls, so the T steps of one image integrate
// and nothing leaks from one image to the next. Arithmetic is the deploy form's, exactly:
//   u = (u >> leak_shift) + x;  s = (u >= theta[c]);  u = s ? (soft ? u - theta[c] : 0) : u
// with >> an arithmetic shift (floor) on a signed integer membrane; with leak_complement the
// leak keeps u - (u >> leak_shift) instead (tau = 1 - 2^-k).
#ifndef NNET_LIF_H_
#define NNET_LIF_H_

#include "hls_stream.h"
#include "nnet_common.h"

namespace nnet {

struct lif_config {
    static const unsigned n_in = 1;      // neurons in one time step of the layer
    static const unsigned n_chan = 1;    // channels (innermost axis): thresholds are per channel
    static const unsigned time_steps = 1;
    static const unsigned leak_shift = 1;
    static const bool leak_complement = false;
    static const bool reset_soft = false;
    typedef ap_int<32> membrane_t;
    typedef ap_int<32> threshold_t;
};

template <typename CONFIG_T> struct lif_state {
    typename CONFIG_T::membrane_t membrane[CONFIG_T::n_in];
    unsigned step;
};

template <typename CONFIG_T, typename in_T>
bool lif_update(typename CONFIG_T::membrane_t &u_ref, in_T x, typename CONFIG_T::threshold_t theta) {
    typename CONFIG_T::membrane_t kept = CONFIG_T::leak_complement
        ? (typename CONFIG_T::membrane_t)(u_ref - (u_ref >> CONFIG_T::leak_shift))
        : (typename CONFIG_T::membrane_t)(u_ref >> CONFIG_T::leak_shift);
    typename CONFIG_T::membrane_t u = kept + x;
    bool fire = (u >= theta);
    if (fire) {
        u_ref = CONFIG_T::reset_soft ? (typename CONFIG_T::membrane_t)(u - theta) : (typename CONFIG_T::membrane_t)0;
    } else {
        u_ref = u;
    }
    return fire;
}

template <typename CONFIG_T> void lif_begin_step(lif_state<CONFIG_T> &st) {
    if (st.step == 0) {
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            #pragma HLS UNROLL
            st.membrane[i] = 0;
        }
    }
}

template <typename CONFIG_T> void lif_end_step(lif_state<CONFIG_T> &st) {
    st.step = (st.step + 1 == CONFIG_T::time_steps) ? 0 : st.step + 1;
}

// io_parallel
template <class data_T, class res_T, typename CONFIG_T>
void lif_step(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
              const typename CONFIG_T::threshold_t threshold[CONFIG_T::n_chan]) {
    static lif_state<CONFIG_T> st = {};
    lif_begin_step<CONFIG_T>(st);
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        res[i] = lif_update<CONFIG_T>(st.membrane[i], data[i], threshold[i % CONFIG_T::n_chan]);
    }
    lif_end_step<CONFIG_T>(st);
}

// io_stream: one beat carries data_T::size neurons (a pixel's channels, or a whole vector)
template <class data_T, class res_T, typename CONFIG_T>
void lif_step(hls::stream<data_T> &data, hls::stream<res_T> &res,
              const typename CONFIG_T::threshold_t threshold[CONFIG_T::n_chan]) {
    static lif_state<CONFIG_T> st = {};
    lif_begin_step<CONFIG_T>(st);
    for (unsigned i = 0; i < CONFIG_T::n_in / data_T::size; i++) {
        data_T in = data.read();
        res_T out;
        PRAGMA_DATA_PACK(out)
        for (unsigned j = 0; j < data_T::size; j++) {
            #pragma HLS UNROLL
            unsigned idx = i * data_T::size + j;
            out[j] = lif_update<CONFIG_T>(st.membrane[idx], in[j], threshold[idx % CONFIG_T::n_chan]);
        }
        res.write(out);
    }
    lif_end_step<CONFIG_T>(st);
}

} // namespace nnet

#endif
