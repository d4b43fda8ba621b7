// pybind11 bindings of the CPU backend (placeholder until the ops land).
#include <pybind11/pybind11.h>
namespace py = pybind11;
PYBIND11_MODULE(_native, m) { m.doc() = "galaxyzoo CPU preprocessing backend"; }
