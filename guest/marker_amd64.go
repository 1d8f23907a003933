//go:build linux

package guest

// The counting plugin's markers (marker_amd64.s): no-ops that the plugin
// recognises when QEMU translates them.
func markBench()
func markStart()
func markEnd()
func markDigit0()
func markDigit1()
func markDigit2()
func markDigit3()
func markDigit4()
func markDigit5()
func markDigit6()
func markDigit7()
func markDigit8()
func markDigit9()
func markDigitA()
func markDigitB()
func markDigitC()
func markDigitD()
func markDigitE()
func markDigitF()

// markDigits sends the plugin hex digit d, for the next benchmark's tag.
var markDigits = [16]func(){
	markDigit0, markDigit1, markDigit2, markDigit3, markDigit4, markDigit5, markDigit6, markDigit7,
	markDigit8, markDigit9, markDigitA, markDigitB, markDigitC, markDigitD, markDigitE, markDigitF,
}
