/** The backend name the native kernels are registered under. */
export const NATIVE = 'native';
