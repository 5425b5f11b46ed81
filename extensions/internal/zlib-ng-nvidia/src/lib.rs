//! `zlib-ng-nvidia`: zlib-ng's zlib-compatible `libz.so.1`, a glibc shared library for the
//! nvidia-fabricmanager service container (amd64), see `build.rs`.
