/* Tests of tripstore: to be written. */
int main(void) { return 77; }
