// Traps at once: for the runtime's trap reporting.
unreachable();
