/* Tests of synth: to be written. */
int main(void) { return 77; }
