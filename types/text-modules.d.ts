// The built-in model's C files are bundled as text (esbuild loader "text"; tsx via a require hook).
declare module '*.c' {
  const text: string;
  export default text;
}
