/* Tests of csvread: to be written. */
int main(void) { return 77; }
