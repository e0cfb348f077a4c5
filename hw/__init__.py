"""Hand-written, parameterised Verilog library (rtl/*.v)."""
