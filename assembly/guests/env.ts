// Prints argv and the environment, one entry a line: what a guest is given, and nothing else.
const argv = process.argv;
for (let i = 0; i < argv.length; i++) process.stdout.write("argv[" + i.toString() + "]=" + argv[i] + "\n");
const keys = process.env.keys();
for (let i = 0; i < keys.length; i++) process.stdout.write("env " + keys[i] + "=" + process.env.get(keys[i]) + "\n");
