/* Tests of train: to be written. */
int main(void) { return 77; }
