// OpenBLAS's cblas.h uses the guard CBLAS_H, so this shim must use another one (docs/architecture.md, "System libraries").
#ifndef SPIKIFY_CBLAS_SHIM_H
#define SPIKIFY_CBLAS_SHIM_H
#include <cblas.h>
// Declared by OpenBLAS (openblas_config.h / cblas.h); repeated for clarity of what Spikify uses.
char *openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
