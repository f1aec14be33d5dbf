// The part of jStat (https://github.com/jstat/jstat) ragtax uses; the package ships no types.
declare module 'jstat' {
  interface Distribution {
    inv(p: number, ...parameters: number[]): number;
    cdf(x: number, ...parameters: number[]): number;
    pdf(x: number, ...parameters: number[]): number;
  }
  const jStat: { beta: Distribution; normal: Distribution };
  export default jStat;
}
