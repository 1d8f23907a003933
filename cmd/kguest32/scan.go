package main

// scanEntry is entryInsn on the code bytes.
func scanEntry(code []byte) string {
	for i := 0; i+1 < len(code); i++ {
		switch {
		case code[i] == 0x0f && code[i+1] == 0x34:
			return "sysenter"
		case code[i] == 0x0f && code[i+1] == 0x05:
			return "syscall"
		case code[i] == 0xcd && code[i+1] == 0x80:
			return "int80"
		}
	}
	return "unknown"
}
