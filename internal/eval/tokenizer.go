package eval

// Tokenizer is the part of the model's tokenizer the evaluations use.
type Tokenizer interface {
	Encode(text string, addSpecial, parseSpecial bool) []int32
	Decode(ids []int32, special bool) string
	AddBOS() bool
	BOS() int32
	IsEOG(id int32) bool
}
