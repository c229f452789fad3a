// Static-inline getters for HDF5 macros that do not import into Swift
// (type ids expand to `H5open(), H5T_NATIVE_FLOAT_g`; docs/architecture.md, "System libraries").
#ifndef SPIKIFY_CHDF5_SHIM_H
#define SPIKIFY_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t spk_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t spk_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t spk_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t spk_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t spk_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t spk_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t spk_h5s_all(void) { return H5S_ALL; }
static inline hid_t spk_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline unsigned spk_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned spk_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline size_t spk_h5t_variable(void) { return H5T_VARIABLE; }
static inline void spk_h5_disable_error_printing(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
// Added for the HDF5 wrapper: explicit little-endian file types, property-list classes,
// the default error stack and the newest file-format bound.
static inline hid_t spk_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t spk_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t spk_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t spk_h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t spk_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t spk_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t spk_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t spk_h5e_default(void) { return H5E_DEFAULT; }
static inline H5F_libver_t spk_h5f_libver_v18(void) { return H5F_LIBVER_V18; }
static inline H5F_libver_t spk_h5f_libver_latest(void) { return H5F_LIBVER_LATEST; }
#endif
