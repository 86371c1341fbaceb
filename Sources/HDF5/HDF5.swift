// The HDF5 module: a general-purpose Swift layer over libhdf5.
import CHDF5
