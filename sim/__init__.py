"""cocotb testbenches, the Verilator runner, golden comparison, cycle counting."""
