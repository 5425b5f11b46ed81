# Read after BIRD's own Makefile (`make -f Makefile -f order.mk`, see build.rs): BIRD generates
# nest/proto-build.c without waiting for the rule that creates the build directories, so under
# `make -j` the file can be written before its directory exists ("Directory nonexistent").
# An order-only prerequisite closes the race; the build is otherwise BIRD's own.
$(objdir)/nest/proto-build.c: | $(objdir)/.dir-stamp
